"""GET /api/v1/listings/{id}/settlement — the sale's figures (API.md)."""
from __future__ import annotations

from marshmallow import Schema, fields

from ..api import API_PREFIX, Blueprint, MoneyField, api_auth, api_user
from ..db import get_session
from ..errors import NotFound
from . import services

blp = Blueprint("settlement_api", __name__, url_prefix=API_PREFIX,
                description="Settlement of sales")


class AppliedSchema(Schema):
    costs = MoneyField(required=True)
    penalty_interest = MoneyField(required=True)
    interest = MoneyField(required=True)
    principal = MoneyField(required=True)


class RiskShareAmountSchema(Schema):
    org_id = fields.Integer(required=True)
    amount = MoneyField(required=True)


class ForfeitedDepositsSchema(Schema):
    """Earlier winners' forfeited deposits applied when this sale closed (悔拍): what they
    made good (the re-sale's costs, the fall in price, the debt) and where they went."""

    amount = MoneyField(required=True)
    to_resale_costs = MoneyField(required=True)
    to_price_shortfall = MoneyField(required=True)
    to_debt = MoneyField(required=True)
    applied_to_claim = MoneyField(required=True)
    to_owner = MoneyField(required=True)


class SettlementSchema(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    loan_id = fields.Integer(allow_none=True)
    status = fields.String(required=True,
                           metadata={"enum": ["awaiting_payment", "settled", "defaulted"]})
    currency = fields.String(required=True)
    price = MoneyField(required=True)
    buyer_premium = MoneyField(required=True)
    seller_commission = MoneyField(required=True)
    disposal_costs = MoneyField(required=True)
    net_proceeds = MoneyField(required=True)
    applied = fields.Nested(AppliedSchema, required=True)
    claim_total = MoneyField(required=True)
    surplus_to_pledgor = MoneyField(required=True)
    shortfall = MoneyField(required=True)
    risk_shares = fields.List(fields.Nested(RiskShareAmountSchema), required=True)
    lender_loss = MoneyField(required=True)
    deposit_applied = MoneyField(required=True)
    forfeited_deposits = fields.Nested(ForfeitedDepositsSchema, required=True)
    as_of = fields.Date(required=True)
    balance_due = MoneyField(required=True)
    balance_due_by = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)


@blp.get("/listings/<int:listing_id>/settlement")
@api_auth()
@blp.response(200, SettlementSchema)
@blp.doc(security=[{"bearer": []}])
def get_settlement(listing_id: int):
    """The sale's figures, from the close on (the listing's bank, its pledgor, operators)."""
    s = get_session()
    st = services.for_listing(s, listing_id)
    if st is None or not services.can_view(api_user(), st):
        raise NotFound("settlement")
    return services.as_dict(st)
