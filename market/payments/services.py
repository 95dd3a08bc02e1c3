"""Payment of a sale's balance (price + buyer premium − deposit applied).

Offline: the buyer transfers with our reference code; an operator confirms, which
marks the payment paid and settles the sale in the same transaction.
Stripe: the row (with its deterministic idempotency key) is committed before the one
call that creates the intent; the call is claimed with a conditional update so two
requests never create two intents; the sale settles when the webhook is applied or
when the reconcile job finds the intent succeeded.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, hooks, lifecycle, providers
from ..errors import Conflict, Forbidden, NotFound
from ..settlement import services as settlement_services
from ..settlement.models import Settlement
from ..timeutil import utcnow
from .gateway import GatewayResult
from .models import Payment
from .offline import new_reference

# The Stripe metadata kind of a payment by its purpose (webhooks.py dispatches on it).
WEBHOOK_KIND = {"balance": "balance", "licence": "licence", "royalty": "royalty"}


def _listing_exists(session: Session, listing_id: int) -> bool:
    # The core does not import the listings package: listings answers this question.
    describe = providers.describe_sale_source.get()
    return describe is not None and describe(session, listing_id) is not None


def _pending(session: Session, method: str, *where) -> Payment | None:
    """The pending payment of the same thing, asked for again by the same method (409
    payment_pending when it is by another method)."""
    pending = session.scalar(select(Payment).where(*where, Payment.status == "pending"))
    if pending is not None and pending.method != method:
        raise Conflict("payment_pending",
                       "a payment by another method is pending; ask an operator to cancel it")
    return pending


def start_balance_payment(session: Session, *, listing_id: int, user, method: str) -> Payment:
    """The winning investor asks to pay the balance. Idempotent: asking again with the
    same method returns the pending payment."""
    if not _listing_exists(session, listing_id):
        raise NotFound("listing")
    st = settlement_services.for_listing(session, listing_id)
    if st is None:
        raise Conflict("no_sale", "this listing has no sale awaiting payment")
    if not settlement_services.is_buyer(user, st):
        raise Forbidden("not_winner", "only the winning bidder pays for this sale")
    if st.status != "awaiting_payment":
        raise Conflict("settlement_not_awaiting_payment", f"the sale is {st.status}")
    pending = _pending(session, method, Payment.settlement_id == st.id)
    if pending is not None:
        return pending
    n = session.scalar(select(func.count()).select_from(Payment)
                       .where(Payment.settlement_id == st.id)) or 0
    p = Payment(listing_id=listing_id, settlement_id=st.id, payer_user_id=user.id,
                purpose="balance", amount=st.balance_due, currency=st.currency, method=method,
                status="pending", reference=new_reference("B"),
                # The random tail keeps keys unique across databases sharing one Stripe
                # account (a reset demo must not be answered with an old intent).
                idempotency_key=f"balance:{st.id}:{n + 1}:{secrets.token_hex(4)}", due_by=st.balance_due_by,
                created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(p)
            session.flush()
    except IntegrityError:
        # A simultaneous request inserted the sale's pending payment first (the partial
        # unique index uq_payments_one_pending): its payment is the answer, as if this
        # request had come second.
        pending = _pending(session, method, Payment.settlement_id == st.id,
                           Payment.purpose == "balance")
        if pending is None:
            raise
        return pending
    audit.record(session, "payment.create", "payment", p.id, actor_id=user.id,
                 after={"amount": p.amount, "method": method, "reference": p.reference,
                        "settlement_id": st.id})
    return p


def start_payable_payment(session: Session, *, listing_id: int, purpose: str, payable_id: int,
                          amount, currency: str, user, method: str,
                          due_by: dt.datetime | None) -> Payment:
    """A payment not tied to a settlement (a licence's upfront fee): the package that
    owns `purpose` checked who pays and how much. Idempotent like the balance: asking
    again with the same method returns the pending payment."""
    pending = _pending(session, method, Payment.purpose == purpose,
                       Payment.payable_id == payable_id)
    if pending is not None:
        return pending
    p = Payment(listing_id=listing_id, settlement_id=None, payable_id=payable_id,
                payer_user_id=user.id, purpose=purpose, amount=amount, currency=currency,
                method=method, status="pending", reference=new_reference("L"),
                idempotency_key=f"{purpose}:{payable_id}:{secrets.token_hex(6)}",
                due_by=due_by, created_at=utcnow())
    session.add(p)
    session.flush()
    audit.record(session, "payment.create", "payment", p.id, actor_id=user.id,
                 after={"amount": p.amount, "method": method, "reference": p.reference,
                        "purpose": purpose, "payable_id": payable_id})
    return p


def _paid_elsewhere(session: Session, p: Payment, paid_at: dt.datetime,
                    actor_id: int | None) -> None:
    """A paid payment not tied to a settlement: its owner (hook payment.paid) acts."""
    if p.settlement_id is None:
        hooks.fire("payment.paid", session, p, paid_at, actor_id)


def claim_provider_call(session: Session, payment_id: int) -> bool:
    """Whoever sets provider_call_at first makes the one call that creates the intent."""
    return session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.provider_call_at.is_(None),
               Payment.provider_ref.is_(None))
        .values(provider_call_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1


def ensure_intent(db_session: Session, payment: Payment, gateway) -> Payment:
    """Create the Stripe intent for a pending payment, at most once.

    The caller has committed the payment row. Each step commits on its own so the
    gateway is never called inside a transaction holding locks.
    """
    if payment.method != "stripe" or payment.provider_ref is not None:
        return payment
    pid = payment.id
    claimed = claim_provider_call(db_session, pid)
    db_session.commit()
    if not claimed:
        db_session.refresh(payment)
        if payment.provider_ref is not None:
            return payment
        # Claimed earlier but never recorded: a crash between the call and the commit.
        found = gateway.find_by_idempotency_key(payment.idempotency_key)
        if found is None:
            return payment  # the claimant is still calling; the client asks again later
        result = found
    else:
        result = gateway.charge(
            amount=payment.amount, currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            description=(f"Balance of sale {payment.settlement_id}"
                         if payment.settlement_id is not None
                         else f"{payment.purpose} {payment.reference}"),
            metadata={"kind": WEBHOOK_KIND.get(payment.purpose, "balance"),
                      "payment_id": str(pid),
                      "settlement_id": str(payment.settlement_id)})
    record_intent(db_session, pid, result)
    db_session.commit()
    db_session.refresh(payment)
    return payment


def record_intent(session: Session, payment_id: int, result: GatewayResult) -> None:
    session.execute(update(Payment)
                    .where(Payment.id == payment_id, Payment.provider_ref.is_(None))
                    .values(provider_ref=result.provider_ref, client_secret=result.client_secret)
                    .execution_options(synchronize_session=False))


def _leave_pending(session: Session, payment_id: int, to: str, **kw) -> bool:
    """pending → `to` once (lifecycle.try_move): False when the payment is no longer
    pending, whoever moved it."""
    p = session.get(Payment, payment_id)
    if p is None or p.status != "pending":
        return False
    return lifecycle.try_move(session, p, to, **kw)


def mark_failed(session: Session, payment_id: int, reason: str) -> None:
    _leave_pending(session, payment_id, "failed", reason=reason)


def _mark_paid(session: Session, payment_id: int, *, paid_at: dt.datetime,
               actor_id: int | None, action: str, after: dict) -> bool:
    return _leave_pending(session, payment_id, "paid", actor_id=actor_id, action=action,
                          after=after, paid_at=paid_at, confirmed_by=actor_id)


def confirm_offline(session: Session, payment_id: int, *, actor_id: int) -> Payment:
    """An operator matched the transfer: paid, and the sale settles in this transaction."""
    p = session.get(Payment, payment_id)
    if p is None:
        raise NotFound("payment")
    if p.method != "offline":
        raise Conflict("not_offline", "card payments are confirmed by Stripe, not by hand")
    now = utcnow()
    if not _mark_paid(session, payment_id, paid_at=now, actor_id=actor_id,
                      action="payment.confirm",
                      after={"status": "paid", "amount": p.amount, "reference": p.reference}):
        session.refresh(p)
        raise Conflict("payment_not_pending", f"the payment is already {p.status}")
    if p.settlement_id is not None:
        settlement_services.settle(session, p.settlement_id, paid_at=now, actor_id=actor_id)
    _paid_elsewhere(session, p, now, actor_id)
    return p


def cancel_payment(session: Session, payment_id: int, *, actor_id: int) -> Payment:
    p = session.get(Payment, payment_id)
    if p is None:
        raise NotFound("payment")
    if not _leave_pending(session, payment_id, "cancelled", actor_id=actor_id,
                          action="payment.cancel"):
        session.refresh(p)
        raise Conflict("payment_not_pending", f"the payment is already {p.status}")
    return p


def apply_stripe_state(session: Session, payment: Payment, pi_status: str,
                       *, at: dt.datetime | None = None) -> str:
    """Act on a balance intent's current state (as re-read from Stripe): succeeded →
    paid and settled (once); canceled → failed. Returns what happened."""
    at = at or utcnow()
    if pi_status == "succeeded":
        won = _mark_paid(session, payment.id, paid_at=at, actor_id=None, action="payment.paid",
                         after={"status": "paid", "provider_ref": payment.provider_ref,
                                "amount": payment.amount})
        session.refresh(payment)
        if payment.status != "paid":
            # Money arrived for a payment we had given up on (e.g. the sale defaulted
            # first): an operator must refund it; the audit log says so.
            audit.record(session, "payment.received_while_" + payment.status, "payment",
                         payment.id, after={"provider_ref": payment.provider_ref,
                                            "amount": payment.amount, "refund_needed": True})
            return f"payment {payment.status}; refund needed"
        st = session.get(Settlement, payment.settlement_id) if payment.settlement_id else None
        if st is not None and st.status == "awaiting_payment":
            settlement_services.settle(session, st.id, paid_at=payment.paid_at or at)
            return "settled"
        if won and payment.settlement_id is None:
            _paid_elsewhere(session, payment, payment.paid_at or at, None)
        return "paid" if won else "already paid; nothing to do"
    if pi_status == "canceled":
        mark_failed(session, payment.id, "intent canceled")
        return "failed"
    return f"pending ({pi_status})"


def payment_by_provider_ref(session: Session, provider_ref: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.provider_ref == provider_ref))


def pending_balances(session: Session) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.status == "pending")
                                .order_by(Payment.created_at, Payment.id)))


def as_dict(p: Payment) -> dict:
    return {"id": p.id, "listing_id": p.listing_id, "settlement_id": p.settlement_id,
            "amount": p.amount, "currency": p.currency, "method": p.method,
            "status": p.status, "reference": p.reference, "client_secret": p.client_secret,
            "due_by": p.due_by, "paid_at": p.paid_at}
