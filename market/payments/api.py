"""Payment of a sale's balance: POST /listings/{id}/payments, POST /payments/{id}/confirm,
GET /payments/{id}; and the Stripe webhook (see webhooks.py)."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from sqlalchemy import select

from ..accounts.models import Org
from ..accounts.models import WRITING_ROLES
from ..api import (API_PREFIX, Blueprint, MoneyField, PageArgs, api_auth, api_user,
                   page_schema, paginate)
from ..db import get_session
from ..errors import DomainError, NotFound
from . import refunds, services
from .gateway import check_card_limit, gateway_for
from .models import Payment, Refund

blp = Blueprint("payments_api", __name__, url_prefix=API_PREFIX,
                description="Payment of a sale's balance")


class DepositIn(Schema):
    method = fields.String(required=True, validate=validate.OneOf(["offline", "stripe"]))


class DepositOut(Schema):
    """A deposit of any sale: an auction round's, or a listed transfer's registration."""
    id = fields.Integer(required=True)
    auction_id = fields.Integer(allow_none=True)  # None: a listed transfer's registration
    status = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    method = fields.String(required=True)
    reference = fields.String(required=True)
    client_secret = fields.String()


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
@api_auth(*WRITING_ROLES)  # the winning investor, or any user of a backstop fund (API.md)
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


class RefundAccount(Schema):
    bank_name = fields.String(allow_none=True)
    account_name = fields.String(allow_none=True)
    account_no = fields.String(allow_none=True)


class RefundSchema(Schema):
    id = fields.Integer(required=True)
    payer_org_id = fields.Integer(required=True)
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    reason = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["requested", "sent"]})
    requested_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    bank_reference = fields.String(allow_none=True)
    overdue = fields.Boolean(required=True)
    account = fields.Nested(RefundAccount)


class RefundQuery(PageArgs):
    status = fields.String(load_default="requested",
                           validate=validate.OneOf(["requested", "sent"]))


class RefundSent(Schema):
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=64))


def _refund_out(s, r):
    return refunds.as_dict(r, s.get(Org, r.payer_org_id))


@blp.get("/refunds")
@api_auth("operator")
@blp.arguments(RefundQuery, location="query")
@blp.response(200, page_schema(RefundSchema, "RefundPage"))
@blp.doc(security=[{"bearer": []}])
def list_refunds(args):
    """Operator: refunds to execute (status requested, the earliest due first), with the
    account each goes to, or those sent."""
    s = get_session()
    stmt = select(Refund).where(Refund.status == args["status"]).order_by(Refund.due_at,
                                                                         Refund.id)
    page = paginate(s, stmt, args["page"], args["per_page"])
    page["items"] = [_refund_out(s, r) for r in page["items"]]
    return page


@blp.post("/refunds/<int:refund_id>/sent")
@api_auth("operator")
@blp.arguments(RefundSent)
@blp.response(200, RefundSchema)
@blp.doc(security=[{"bearer": []}])
def refund_sent(args, refund_id: int):
    """Operator: the transfer went out; recorded with the bank's reference (once: 409)."""
    s = get_session()
    r = refunds.mark_sent(s, refund_id, args["bank_reference"], actor_id=api_user().id)
    out = _refund_out(s, r)
    s.commit()
    return out
