"""/api/v1/loans/{id}/agreed-valuation (协议折价): routes on the loans blueprint."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..api import MoneyField, api_auth, api_user
from ..assets.api import errors
from ..db import get_session
from ..errors import NotFound
from ..settlement.api import AppliedSchema, RiskShareAmountSchema
from . import agreed, services
from .api import SECURITY, blp, today
from .models import AGREED_STATUSES


class AgreedValuationIn(Schema):
    value = MoneyField(required=True)
    agreed_on = fields.Date(required=True)
    pledgor_consent_ref = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AgreedValuationOut(Schema):
    value = MoneyField(required=True)
    agreed_on = fields.Date(required=True)
    dispose_by = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(AGREED_STATUSES))
    applied = fields.Nested(AppliedSchema, required=True)
    surplus_to_pledgor = MoneyField(required=True, metadata={
        "description": "owed by the bank to the pledgor"})
    shortfall = MoneyField(required=True)
    risk_shares = fields.List(fields.Nested(RiskShareAmountSchema), required=True)
    lender_loss = MoneyField(required=True)


@blp.post("/loans/<int:loan_id>/agreed-valuation")
@errors(blp, 401, 403, 422, 404, 409)
@api_auth("bank")
@blp.arguments(AgreedValuationIn)
@blp.response(201, AgreedValuationOut)
@blp.doc(security=SECURITY)
def record_agreed_valuation(body, loan_id):
    """The bank takes the pledged IP at a value agreed with the pledgor after the default;
    the loan is settled with it at once and the bank must dispose of the IP by dispose_by."""
    s = get_session()
    user = api_user()
    day = today()
    agreed.check_terms(body["value"], body["agreed_on"], body["pledgor_consent_ref"], day)
    loan = services.bank_loan(s, loan_id, user, lock=True)
    av = agreed.record(s, loan, today=day, actor_id=user.id, **body)
    s.commit()
    return agreed.as_dict(s, av, day)


@blp.get("/loans/<int:loan_id>/agreed-valuation")
@errors(blp, 401, 404, 422)
@api_auth()
@blp.response(200, AgreedValuationOut)
@blp.doc(security=SECURITY)
def get_agreed_valuation(loan_id):
    """The agreement's figures and where the disposal stands (the loan's bank, its
    borrower, operators)."""
    s = get_session()
    loan = services.visible_loan(s, loan_id, api_user())
    av = agreed.of_loan(s, loan.id)
    if av is None:
        raise NotFound("agreed valuation")
    return agreed.as_dict(s, av, today())
