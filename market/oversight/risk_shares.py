"""Risk-sharing parties' shares of a loan's loss (API.md "Oversight and reports").

A government risk-compensation fund, an insurer or a guarantor carries an agreed share
of each loan's shortfall. Each share moves through a small lifecycle:

    open → due    a settled sale of the loan left a shortfall; `amount_due` is the sum of
                  what the settled sales fixed for that party (SettlementRiskShare; a
                  defaulted sale never happened, so it does not count)
    due  → paid   the party (or an operator) records its payment, once

Every move writes an audit record; a payment posts one balanced journal entry
(risk_share:<id>:paid — Dr cash / Cr risk_share_receivable for the party), which
`flask ledger verify` checks through `verify`.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..accounts.models import Org, User
from ..errors import Conflict, NotFound
from ..lending.models import Loan, RiskShare
from ..money import ZERO
from ..notifications import notify
from ..settlement import ledger
from ..settlement.models import JournalEntry, Settlement, SettlementRiskShare
from ..timeutil import utcnow

RISK_SHARING_KINDS = ("fund", "insurer", "guarantor")
STATUSES = ("open", "due", "paid")
TRANSITIONS = {("open", "due"), ("due", "paid")}


def is_party(user: User) -> bool:
    """A user of a risk-sharing organisation (its role is whatever the org's users have)."""
    return user.org is not None and user.org.kind in RISK_SHARING_KINDS


def visible(session: Session, user: User):
    """The shares the user sees: a party its own, an operator all (others: none)."""
    stmt = select(RiskShare).order_by(RiskShare.id)
    if user.role == "operator":
        return stmt
    return stmt.where(RiskShare.org_id == user.org_id)


def share_for_payment(session: Session, share_id: int, user: User) -> RiskShare:
    """The party's own share (or any, for an operator); anyone else: 404. Locked, so two
    recordings of one payment queue behind each other."""
    row = session.scalar(select(RiskShare).where(RiskShare.id == share_id)
                         .with_for_update())
    if row is None or (user.role != "operator" and row.org_id != user.org_id):
        raise NotFound("risk share")
    return row


def transition(session: Session, share: RiskShare, to_status: str, *,
               actor_id: int | None, **values) -> None:
    """Move a share along its lifecycle (the only place its status changes)."""
    if (share.status, to_status) not in TRANSITIONS:
        if to_status == "paid":
            if share.status == "paid":
                raise Conflict("invalid_transition", "the share's payment is recorded already")
            raise Conflict("share_not_due", "the share is not due: no settled sale of its loan "
                                            "has left a shortfall")
        raise Conflict("invalid_transition", f"a risk share cannot go {share.status} → "
                                             f"{to_status}")
    before = as_dict(share)
    share.status = to_status
    for key, value in values.items():
        setattr(share, key, value)
    session.flush()
    audit.record(session, f"risk_share.{to_status}", "risk_share", share.id,
                 actor_id=actor_id, before=before, after=as_dict(share))


def settled_amount(session: Session, loan_id: int, org_id: int) -> Decimal:
    """What the settled sales of a loan fixed for a party."""
    amounts = session.scalars(
        select(SettlementRiskShare.amount)
        .join(Settlement, Settlement.id == SettlementRiskShare.settlement_id)
        .where(Settlement.loan_id == loan_id, SettlementRiskShare.org_id == org_id,
               Settlement.status == "settled"))
    return sum(amounts, ZERO)


def on_settlement_settled(session: Session, st: Settlement) -> None:
    """hooks "settlement.settled": a shortfall makes each party's share due, with its
    amount, and tells the party's users."""
    if st.loan_id is None or st.shortfall <= 0:
        return
    loan = session.get(Loan, st.loan_id)
    for share in loan.risk_shares:
        amount = settled_amount(session, loan.id, share.org_id)
        if amount <= 0 or share.status == "paid":
            continue  # nothing owed (its cap was used up), or settled with the party already
        if share.status == "due":
            share.amount_due = amount  # a later sale of the same loan adds to it
            continue
        transition(session, share, "due", actor_id=None, amount_due=amount, due_at=utcnow())
        _notify_due(session, share, loan)


def _notify_due(session: Session, share: RiskShare, loan: Loan) -> None:
    users = session.scalars(select(User).where(User.org_id == share.org_id,
                                               User.active.is_(True)))
    for user in users:
        with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")):
            subject = _("Risk share due on loan %(loan)s: %(amount)s",
                        loan=loan.reference or loan.id, amount=f"{share.amount_due:,.2f}")
            body = _("A sale of the loan's collateral has settled with a shortfall. Your "
                     "share (%(share)s) comes to %(amount)s %(currency)s.",
                     share=f"{share.share * 100:.2f}%", amount=f"{share.amount_due:,.2f}",
                     currency=loan.currency)
        notify(session, user.id, "risk_share.due", subject, body, link="/risk-shares")


def entry_key(share: RiskShare) -> str:
    return f"risk_share:{share.id}:paid"


def expected_lines(share: RiskShare) -> list[tuple]:
    return [("cash", None, share.amount_due, ZERO, "risk share received"),
            ("risk_share_receivable", share.org_id, ZERO, share.amount_due,
             "risk share paid")]


def record_payment(session: Session, share: RiskShare, *, paid_on: dt.date, reference: str,
                   actor_id: int | None) -> RiskShare:
    """due → paid, once, with its journal entry (a second recording → 409)."""
    transition(session, share, "paid", actor_id=actor_id, paid_on=paid_on,
               reference=reference, paid_by=actor_id, paid_at=utcnow())
    ledger.post(session, "risk_share.paid", "risk_share", share.id, entry_key(share),
                expected_lines(share), memo=f"loan {share.loan_id} risk share {reference}")
    return share


def verify(session: Session) -> list[str]:
    """For `flask ledger verify`: each paid share has exactly its entry; no other has one."""
    problems = []
    posted = {e.ref_id: e for e in session.scalars(
        select(JournalEntry).where(JournalEntry.ref_type == "risk_share"))}
    for share in session.scalars(select(RiskShare).order_by(RiskShare.id)):
        entry = posted.pop(share.id, None)
        if share.status != "paid":
            if entry is not None:
                problems.append(f"risk share {share.id} is {share.status} but has a journal "
                                "entry")
            continue
        want = sorted((a, o, d, c) for a, o, d, c, _m in expected_lines(share))
        have = sorted((ln.account, ln.org_id, ln.debit, ln.credit)
                      for ln in (entry.lines if entry else []))
        if entry is None or entry.idempotency_key != entry_key(share) or want != have:
            problems.append(f"risk share {share.id}: its payment entry does not match "
                            f"(expected {want}, found {have})")
    for ref_id in posted:
        problems.append(f"journal entry for risk share {ref_id}, which does not exist")
    return problems


def as_dict(share: RiskShare) -> dict:
    return {"id": share.id, "loan_id": share.loan_id, "org_id": share.org_id,
            "share": share.share, "cap": share.cap, "amount_due": share.amount_due,
            "status": share.status, "paid_on": share.paid_on, "reference": share.reference}


def with_names(session: Session, shares: list[RiskShare]) -> list[dict]:
    """Items for the pages: the API's fields plus the party's name and the loan's number."""
    org_ids = {s.org_id for s in shares}
    names = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids))).all()) \
        if org_ids else {}
    refs = dict(session.execute(select(Loan.id, Loan.reference).where(
        Loan.id.in_({s.loan_id for s in shares}))).all()) if shares else {}
    return [{**as_dict(s), "org_name": names.get(s.org_id, s.org_id),
             "loan_reference": refs.get(s.loan_id)} for s in shares]
