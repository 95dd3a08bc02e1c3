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

# What a person reads when a service refuses (the API keeps the English message).
REFUSALS = {
    "asset_already_pledged": _l(
        "An asset is already under a registered pledge (no second pledge)."),
    "asset_not_in_force": _l("An asset is not in force (lapsed, invalid or expired)."),
    "pledgor_not_owner": _l("An asset is not owned by the borrower."),
    "term_exceeds_asset": _l("The loan runs past an asset's expiry."),
    "co_owner_consent_missing": _l("A co-owned asset lacks every co-owner's consent."),
    "risk_shares_exceed_one": _l("Risk shares add up to more than 1."),
    "duplicate_registration_no": _l("This pledge registration number is already used."),
    "payment_exceeds_claim": _l("The payment is more than the claim on that date."),
    "loan_not_performing": _l("Only a performing loan can be declared in default."),
    "invalid_dates": _l("The dates do not fit the loan."),
    "invalid_amount": _l("The amount must be positive."),
    "loan_not_defaulted": _l("Only a loan in default can be settled by an agreed valuation."),
    "assets_listed": _l("A pledged asset is in a live listing: withdraw it first."),
    "already_agreed": _l("This loan already has an agreed valuation."),
    "agreed_before_default": _l(
        "The agreement cannot predate the default (民法典 428 forbids agreeing it in advance)."),
    "value_below_floor": _l(
        "The agreed value is below the floor (70 percent of the assets' value on that date)."),
    "no_valid_valuation": _l("A pledged asset has no valuation valid on that date."),
}
AGREED_STATUS_LABELS = {"holding": _l("Held by the bank"), "disposed": _l("Disposed of"),
                        "overdue": _l("Disposal overdue")}
AGREED_STATUS_BADGE = {"holding": "warn", "disposed": "ok", "overdue": "bad"}


def refusal_text(exc) -> str:
    label = REFUSALS.get(getattr(exc, "code", ""))
    return str(label) if label is not None else exc.message
