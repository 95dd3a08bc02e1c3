"""The claim on a loan on any date, computed from the loan and its money events.

Normative rules (API.md "How the claim is computed"):
- interest accrues for each day in [disbursed_on, as_of) on the outstanding principal,
  at annual_rate before maturity (or before the acceleration date, when a default was
  declared before maturity) and at penalty_rate from then on; a day's amount is
  principal × rate / 360; no compounding, no interest on costs;
- accruals are summed exactly and divided by 360 last; accrued interest and penalty
  interest are each rounded half-up to cents only at a payment date or at as_of;
- a repayment or recovery dated d is applied on d, after rounding, in the order of
  民法典 561: costs → penalty interest → interest → principal; costs count from
  their date (a cost dated d is owed before a payment dated d is applied).

The computation walks the events in date order and accrues whole segments between
them (days × principal × rate), so its cost grows with the number of events, not days.
"""
from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Protocol

from sqlalchemy import select

from ..money import CENT
from .models import LoanEvent

ZERO = Decimal("0.00")
PAYMENT_KINDS = ("repayment", "recovery")
# Plenty for principal (≤ 1e12, 2 places) × rate (≤ 10 places) × days, exactly.
_CTX = decimal.Context(prec=80, rounding=ROUND_HALF_UP)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=_CTX)


@dataclass(frozen=True)
class Claim:
    """What is owed (or what was paid off) by head of claim, in 民法典 561 order."""

    costs: Decimal = ZERO
    penalty_interest: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.costs + self.penalty_interest + self.interest + self.principal

    def as_dict(self) -> dict[str, Decimal]:
        return {"costs": self.costs, "penalty_interest": self.penalty_interest,
                "interest": self.interest, "principal": self.principal,
                "total": self.total}

    def __sub__(self, other: "Claim") -> "Claim":
        return Claim(self.costs - other.costs, self.penalty_interest - other.penalty_interest,
                     self.interest - other.interest, self.principal - other.principal)

    def __add__(self, other: "Claim") -> "Claim":
        return Claim(self.costs + other.costs, self.penalty_interest + other.penalty_interest,
                     self.interest + other.interest, self.principal + other.principal)


class LoanTerms(Protocol):
    principal: Decimal
    annual_rate: Decimal
    penalty_rate: Decimal
    disbursed_on: dt.date
    maturity_on: dt.date
    defaulted_on: dt.date | None


class MoneyEvent(Protocol):
    kind: str
    amount: Decimal
    on_date: dt.date


def allocate(claim: Claim, amount: Decimal) -> tuple[Claim, Decimal]:
    """Spread `amount` over `claim` in 民法典 561 order.

    Returns (applied, remainder): what each head received and what was left over.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    left = Decimal(amount)
    parts = []
    for owed in (claim.costs, claim.penalty_interest, claim.interest, claim.principal):
        take = min(max(owed, ZERO), left)
        parts.append(take)
        left -= take
    return Claim(*parts), left


def penalty_from(loan: LoanTerms) -> dt.date:
    """The first day accruing at the penalty rate: maturity, or an earlier default
    (提前到期: a default declared before maturity makes all principal overdue)."""
    if loan.defaulted_on is not None and loan.defaulted_on < loan.maturity_on:
        return loan.defaulted_on
    return loan.maturity_on


def _event_order(ev: MoneyEvent) -> tuple:
    # Same date: costs are owed before that day's payments are applied; then the
    # order they were recorded in (id when the row has one).
    return (ev.on_date, 0 if ev.kind == "cost" else 1, getattr(ev, "id", None) or 0)


def claim_as_of(loan: LoanTerms, events: Iterable[MoneyEvent], as_of: dt.date) -> Claim:
    """The claim outstanding on `as_of` (every event dated ≤ as_of counts)."""
    start = loan.disbursed_on
    pen_from = penalty_from(loan)
    annual = Decimal(loan.annual_rate)
    penalty = Decimal(loan.penalty_rate)

    principal = Decimal(loan.principal) if as_of >= start else ZERO
    costs = ZERO
    pen_int = ZERO   # rounded, unpaid
    interest = ZERO  # rounded, unpaid
    acc_int = Decimal(0)  # Σ principal × rate over days since the last rounding (not /360)
    acc_pen = Decimal(0)
    accrued_to = start  # accrual done for days < accrued_to

    def accrue(until: dt.date) -> None:
        nonlocal acc_int, acc_pen, accrued_to
        if until <= accrued_to:
            return
        a, b = accrued_to, until
        normal_days = max(0, (min(b, pen_from) - a).days)
        pen_days = max(0, (b - max(a, pen_from)).days)
        if principal:
            if normal_days:
                acc_int = _CTX.add(acc_int, _CTX.multiply(_CTX.multiply(principal, annual),
                                                          normal_days))
            if pen_days:
                acc_pen = _CTX.add(acc_pen, _CTX.multiply(_CTX.multiply(principal, penalty),
                                                          pen_days))
        accrued_to = b

    def round_accruals() -> None:
        nonlocal acc_int, acc_pen, interest, pen_int
        interest += _cents(_CTX.divide(acc_int, 360))
        pen_int += _cents(_CTX.divide(acc_pen, 360))
        acc_int = Decimal(0)
        acc_pen = Decimal(0)

    for ev in sorted((e for e in events if e.on_date <= as_of), key=_event_order):
        if ev.kind == "cost":
            costs += Decimal(ev.amount)
            continue
        if ev.kind not in PAYMENT_KINDS:
            continue
        accrue(ev.on_date)
        round_accruals()
        paid, _ = allocate(Claim(costs, pen_int, interest, principal), Decimal(ev.amount))
        costs -= paid.costs
        pen_int -= paid.penalty_interest
        interest -= paid.interest
        principal -= paid.principal

    accrue(as_of)
    round_accruals()
    return Claim(_cents(costs), pen_int, interest, _cents(principal))


def compute_claim(session, loan_id: int, as_of: dt.date) -> Claim:
    """The claim on loan `loan_id` on `as_of` (404 when there is no such loan)."""
    from .services import get_loan  # cycle: lending.services imports this module

    loan = get_loan(session, loan_id)
    events = session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan_id,
                                                     LoanEvent.on_date <= as_of))
    return claim_as_of(loan, list(events), as_of)
