"""Payment of a sale's balance: POST /listings/{id}/payments, POST /payments/{id}/confirm,
GET /payments/{id}; and the Stripe webhook (see webhooks.py)."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from ..api import API_PREFIX, Blueprint, MoneyField, api_auth, api_user
from ..db import get_session
from ..errors import DomainError, NotFound
from . import services
from .gateway import check_card_limit, gateway_for
from .models import Payment

blp = Blueprint("payments_api", __name__, url_prefix=API_PREFIX,
                description="Payment of a sale's balance")


class PaymentRequest(Schema):
    method = fields.String(required=True, validate=validate.OneOf(["offline", "stripe"]))


class PaymentSchema(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    settlement_id = fields.Integer(allow_none=True)
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    method = fields.String(required=True)
    status = fields.String(required=True,
                           metadata={"enum": ["pending", "paid", "cancelled", "failed"]})
    reference = fields.String(required=True)
    client_secret = fields.String(allow_none=True)
    due_by = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)


@blp.post("/listings/<int:listing_id>/payments")
@api_auth("investor")
@blp.arguments(PaymentRequest)
@blp.response(201, PaymentSchema)
@blp.doc(security=[{"bearer": []}])
def create_payment(args, listing_id: int):
    """The winning investor pays the balance (price + buyer premium − deposit)."""
    s = get_session()
    gateway = gateway_for(args["method"], current_app.config)  # 422 method_unavailable first
    p = services.start_balance_payment(s, listing_id=listing_id, user=api_user(),
                                       method=args["method"])
    return services.as_dict(commit_and_charge(s, p, gateway))


def commit_and_charge(s, p: Payment, gateway) -> Payment:
    """Commit a new pending payment; for a card, create its Stripe intent (once)."""
    if p.method == "stripe":
        check_card_limit(p.amount, current_app.config)  # refused: nothing is committed
    s.commit()
    if p.method == "stripe":
        try:
            p = services.ensure_intent(s, p, gateway)
        except DomainError as exc:
            s.rollback()
            services.mark_failed(s, p.id, exc.code)
            s.commit()
            raise
    return p


@blp.get("/payments/<int:payment_id>")
@api_auth()
@blp.response(200, PaymentSchema)
@blp.doc(security=[{"bearer": []}])
def get_payment(payment_id: int):
    s = get_session()
    p = s.get(Payment, payment_id)
    user = api_user()
    if p is None or (user.role != "operator" and p.payer_user_id != user.id):
        raise NotFound("payment")
    return services.as_dict(p)


@blp.post("/payments/<int:payment_id>/confirm")
@api_auth("operator")
@blp.response(200, PaymentSchema)
@blp.doc(security=[{"bearer": []}])
def confirm_payment(payment_id: int):
    """An operator matched an offline transfer: paid, and the sale settles at once."""
    s = get_session()
    p = services.confirm_offline(s, payment_id, actor_id=api_user().id)
    s.commit()
    return services.as_dict(p)
