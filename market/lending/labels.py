"""Human labels (translated) and badges for loan, pledge and flag codes used on pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

LOAN_STATUS_LABELS = {"performing": _l("Performing"), "defaulted": _l("Defaulted"),
                      "settled": _l("Settled")}
LOAN_STATUS_BADGE = {"performing": "ok", "defaulted": "bad", "settled": ""}
PLEDGE_STATUS_LABELS = {"registered": _l("Registered"), "released": _l("Released"),
                        "enforced": _l("Enforced")}
PLEDGE_STATUS_BADGE = {"registered": "ok", "released": "", "enforced": "warn"}
EVENT_LABELS = {"repayment": _l("Repayment"), "cost": _l("Enforcement cost"),
                "recovery": _l("Recovery from disposal")}
FLAG_LABELS = {"overdue": _l("Overdue"), "ltv": _l("LTV over threshold"),
               "asset_not_in_force": _l("Pledged asset not in force"),
               "annuity_due": _l("Annuity / renewal due"),
               "valuation_expired": _l("Valuation expired"),
               "disposal_deadline": _l("Disposal deadline")}
