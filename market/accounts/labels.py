"""The roles' names as people read them (the role codes are in models.ROLES)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"operator": _l("Exchange operator"), "bank": _l("Bank"),
               "investor": _l("Investor"), "owner": _l("IP owner"),
               "regulator": _l("Regulator")}


def role_label(role: str):
    return ROLE_LABELS.get(role, role)
