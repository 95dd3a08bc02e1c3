"""Income that is not a sale — licence fees, royalties — applied to a loan's claim.

Unlike a sale there is no waterfall of commission and costs and no shortfall: the money
goes to the claim in 民法典 561 order (costs → penalty interest → interest → principal)
up to the claim, and whatever the claim does not need goes to the owner (the pledgor).
When the claim is cleared the loan is settled and its pledge released. Each receipt is
applied once: its `source` (e.g. "licence:17:2026-Q1") is the journal entry's key.

Journal (ref_type "loan"):
  recovery:<source>   Dr cash (received)  Cr bank_recovery (applied to the claim),
                                          pledgor_surplus (the rest, to the owner)
This module knows no listing or auction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from .. import audit
from ..errors import Invalid
from ..lending import services as lending
from ..money import ZERO, cents
from . import ledger

MAX_SOURCE = 60  # the key "recovery:<source>" fits the journal's 80 characters


@dataclass(frozen=True)
class Recovery:
    applied: Decimal  # to the claim
    remainder: Decimal  # to the owner
    loan_settled: bool


def entry_key(source: str) -> str:
    return f"recovery:{source}"


def _check(amount: Decimal, source: str) -> Decimal:
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE:
        raise Invalid("invalid_source", f"a recovery needs a source of 1–{MAX_SOURCE} characters")
    if amount is None or Decimal(amount) <= 0 or cents(amount) != Decimal(amount):
        raise Invalid("invalid_amount", "a recovery is a positive amount in whole cents")
    return cents(amount)


def apply_recovery(session: Session, loan_id: int, amount: Decimal, on_date: dt.date, *,
                   source: str, actor_id: int | None = None) -> Recovery:
    """Apply `amount` received on `on_date` to the loan's claim; the rest is the owner's.

    Idempotent by `source`: a second call finds the entry posted and returns what the
    first applied, writing nothing."""
    amount = _check(amount, source)
    loan = lending.get_loan(session, loan_id, lock=True)  # one recovery at a time per loan
    key = entry_key(source)
    done = ledger.find(session, key)
    if done is not None:
        return _as_posted(done, loan.status == "settled")
    if on_date < loan.disbursed_on:
        raise Invalid("invalid_dates", "a recovery cannot precede the disbursement")
    applied = lending.apply_recovery(session, loan.id, amount, on_date, None,
                                     actor_id=actor_id, description=f"recovery {source}").total
    remainder = amount - applied
    ledger.post(session, "recovery", "loan", loan.id, key,
                [("cash", None, amount, ZERO, f"received: {source}"),
                 ("bank_recovery", loan.bank_org_id, ZERO, applied, "applied to the claim"),
                 ("pledgor_surplus", loan.borrower_org_id, ZERO, remainder, "to the owner")],
                memo=source)
    # Cleared: nothing owed on the last date any money event of the loan has.
    last = max([on_date] + [e.on_date for e in lending.events_of(session, loan.id)])
    settled = lending.claim_on(session, loan, last).total == ZERO
    if settled:
        lending.release_pledge(session, loan.id, on_date, actor_id=actor_id)
        lending.mark_settled(session, loan.id, on_date, actor_id=actor_id)
    audit.record(session, "loan.income_applied", "loan", loan.id, actor_id=actor_id,
                 after={"source": source, "amount": amount, "on_date": on_date,
                        "applied": applied, "remainder": remainder, "loan_settled": settled})
    return Recovery(applied, remainder, settled)


def _as_posted(entry, loan_settled: bool) -> Recovery:
    def credited(account: str) -> Decimal:
        return sum((ln.credit for ln in entry.lines if ln.account == account), ZERO)

    return Recovery(credited("bank_recovery"), credited("pledgor_surplus"), loan_settled)
