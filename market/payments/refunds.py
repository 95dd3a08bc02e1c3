"""The refund queue: the one way the exchange pays money back (a released offline deposit,
a payment that arrived twice…). A service asks with `request_refund`; an operator sends
the bank transfer to the payer organisation's receiving account (its profile) and marks
the refund sent with the bank's reference. A refund still owed after its due time
(deposits: deposit_release_hours, 法释〔2016〕18号 "within 24 h") is overdue on the desk.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import audit
from ..errors import Conflict, Invalid, NotFound
from ..timeutil import utcnow
from .models import Refund


def request_refund(session: Session, payer_org_id: int, amount: Decimal, reason: str,
                   source: str, *, currency: str = "CNY",
                   due_at: dt.datetime | None = None) -> Refund:
    """Queue a refund (status requested). Idempotent on `source`: asking twice for the
    same money returns the first request."""
    existing = session.scalar(select(Refund).where(Refund.source == source))
    if existing is not None:
        return existing
    if amount is None or amount <= 0:
        raise Invalid("amount_not_positive", "a refund must be greater than zero")
    r = Refund(payer_org_id=payer_org_id, amount=amount, currency=currency, reason=reason,
               source=source, status="requested", requested_at=utcnow(), due_at=due_at)
    session.add(r)
    session.flush()
    audit.record(session, "refund.requested", "refund", r.id,
                 after={"payer_org_id": payer_org_id, "amount": amount, "source": source,
                        "reason": reason, "due_at": due_at})
    return r


def mark_sent(session: Session, refund_id: int, bank_reference: str, *, actor_id: int) -> Refund:
    """The operator sent the transfer: recorded once, with the bank's reference."""
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise Invalid("bank_reference_required",
                      "请填写银行流水号 / Give the bank's reference of the transfer")
    r = session.get(Refund, refund_id)
    if r is None:
        raise NotFound("refund")
    now = utcnow()
    won = session.execute(update(Refund)
                          .where(Refund.id == refund_id, Refund.status == "requested")
                          .values(status="sent", sent_at=now, sent_by=actor_id,
                                  bank_reference=bank_reference[:64])
                          .execution_options(synchronize_session=False)).rowcount == 1
    session.refresh(r)
    if not won:
        raise Conflict("refund_not_requested",
                       f"该退款已处理（{r.status}）/ The refund is already {r.status}")
    audit.record(session, "refund.sent", "refund", r.id, actor_id=actor_id,
                 before={"status": "requested"},
                 after={"status": "sent", "bank_reference": r.bank_reference,
                        "late": bool(r.due_at and now > r.due_at)})
    return r


def is_overdue(r: Refund, now: dt.datetime | None = None) -> bool:
    return r.status == "requested" and r.due_at is not None and (now or utcnow()) > r.due_at


def to_execute(session: Session) -> list[Refund]:
    return list(session.scalars(select(Refund).where(Refund.status == "requested")
                                .order_by(Refund.due_at, Refund.id)))


def as_dict(r: Refund, org=None) -> dict:
    out = {"id": r.id, "payer_org_id": r.payer_org_id, "amount": r.amount,
           "currency": r.currency, "reason": r.reason, "source": r.source, "status": r.status,
           "requested_at": r.requested_at, "due_at": r.due_at, "sent_at": r.sent_at,
           "bank_reference": r.bank_reference, "overdue": is_overdue(r)}
    if org is not None:
        out["account"] = {"bank_name": org.bank_name, "account_name": org.bank_account_name,
                          "account_no": org.bank_account_no}
    return out
