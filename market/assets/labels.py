"""Human labels (translated) for asset codes used on pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "invention_patent": _l("Invention patent"),
    "utility_model": _l("Utility-model patent"),
    "design_patent": _l("Design patent"),
    "trademark": _l("Trademark"),
    "copyright": _l("Copyright"),
    "software_copyright": _l("Software copyright"),
    "ic_layout": _l("IC layout design"),
    "geographical_indication": _l("Geographical indication"),
    "plant_variety": _l("Plant variety"),
    "license_revenue_right": _l("Licence-revenue right"),
}
LEGAL_LABELS = {"valid": _l("Valid"), "lapsed": _l("Lapsed"), "invalid": _l("Invalidated"),
                "expired": _l("Expired")}
METHOD_LABELS = {"income": _l("Income method"), "market": _l("Market method"),
                 "cost": _l("Cost method")}
ORG_KIND_LABELS = {"bank": _l("Bank"), "enterprise": _l("Enterprise"), "investor": _l("Investor"),
                   "fund": _l("Risk-compensation fund"), "insurer": _l("Insurer"),
                   "guarantor": _l("Guarantor"), "exchange": _l("Exchange")}
