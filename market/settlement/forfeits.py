"""Applying forfeited deposits (悔拍, 法释〔2016〕18号 art. 24).

A defaulting winner's deposit is kept and "applied in turn to the costs of the re-sale,
to the amount by which the re-sale price falls short of the defaulted price, and to the
debt". Each of the three is a loss the pledgee bank would otherwise carry, so the money
goes to the loan's claim (民法典 561 order); what the claim does not need goes to the
pledgor, or to an owner selling its own IP. The split is kept to show the rule's order.

It happens when the re-sale closes (its costs and price are known then), before the
re-sale's figures are fixed, as a recovery dated the re-sale's `as_of`: the sale's own
figures are then taken against the claim that remains, and API.md's identities hold for
them unchanged. Should no re-sale come (the fixed-price stage found no buyer, or the
seller withdrew the listing), the money goes to the debt then. Each deposit is applied once (a unique row per
deposit, and a journal entry keyed by it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..lending import services as lending
from ..money import ZERO, cents
from ..timeutil import utcnow
from . import ledger
from .models import ForfeitApplication


@dataclass(frozen=True)
class ForfeitedDeposit:
    deposit_id: int
    org_id: int | None  # the defaulter's organisation (its forfeited_deposits sub-account)
    amount: Decimal
    defaulted_price: Decimal | None  # the price the defaulter walked away from


def apply(session: Session, forfeits: Sequence[ForfeitedDeposit], *, listing_id: int,
          loan_id: int | None, seller_org_id: int, pledgor_org_id: int | None,
          as_of: dt.date, resale_price: Decimal | None = None, resale_costs: Decimal = ZERO,
          settlement_id: int | None = None, actor_id: int | None = None
          ) -> list[ForfeitApplication]:
    """Apply the deposits not applied before, oldest first; returns the new applications."""
    ids = [f.deposit_id for f in forfeits]
    done = set(session.scalars(select(ForfeitApplication.deposit_id)
                               .where(ForfeitApplication.deposit_id.in_(ids)))) if ids else set()
    todo = sorted((f for f in forfeits if f.deposit_id not in done and f.amount > 0),
                  key=lambda f: f.deposit_id)
    if not todo:
        return []
    costs_left = cents(resale_costs) if resale_price is not None else ZERO
    prices = [f.defaulted_price for f in todo if f.defaulted_price is not None]
    gap_left = (max(max(prices) - resale_price, ZERO)
                if resale_price is not None and prices else ZERO)
    out = []
    for f in todo:
        amount = cents(f.amount)
        to_costs = min(amount, costs_left)
        to_gap = min(amount - to_costs, gap_left)
        costs_left, gap_left = costs_left - to_costs, gap_left - to_gap
        to_claim = ZERO
        if loan_id is not None:
            to_claim = lending.apply_recovery(
                session, loan_id, amount, as_of, None, actor_id=actor_id,
                description=f"forfeited deposit #{f.deposit_id} (悔拍)").total
        fa = ForfeitApplication(
            deposit_id=f.deposit_id, listing_id=listing_id, settlement_id=settlement_id,
            loan_id=loan_id, defaulter_org_id=f.org_id, seller_org_id=seller_org_id,
            pledgor_org_id=pledgor_org_id, amount=amount, defaulted_price=f.defaulted_price,
            to_resale_costs=to_costs, to_price_shortfall=to_gap,
            to_debt=amount - to_costs - to_gap, applied_to_claim=to_claim,
            to_owner=amount - to_claim, as_of=as_of, created_at=utcnow())
        session.add(fa)
        session.flush()
        ledger.post(session, "forfeit.applied", "deposit", f.deposit_id, entry_key(fa),
                    expected_lines(fa), memo=f"listing {listing_id}")
        audit.record(session, "forfeit.applied", "deposit", f.deposit_id, actor_id=actor_id,
                     after=as_dict(fa))
        out.append(fa)
    return out


def entry_key(fa: ForfeitApplication) -> str:
    return f"forfeit:{fa.deposit_id}:applied"


def expected_lines(fa: ForfeitApplication) -> list[tuple]:
    """The journal lines of one application (also what `flask ledger verify` checks)."""
    rest = (("pledgor_surplus", fa.pledgor_org_id, ZERO, fa.to_owner, "forfeit: to the pledgor")
            if fa.loan_id is not None else
            ("seller_proceeds", fa.seller_org_id, ZERO, fa.to_owner, "forfeit: to the owner"))
    return [("forfeited_deposits", fa.defaulter_org_id, fa.amount, ZERO, "forfeited deposit applied"),
            ("bank_recovery", fa.seller_org_id, ZERO, fa.applied_to_claim,
             "forfeit: applied to the claim"),
            rest]


def for_settlement(session: Session, settlement_id: int) -> list[ForfeitApplication]:
    return list(session.scalars(select(ForfeitApplication)
                                .where(ForfeitApplication.settlement_id == settlement_id)
                                .order_by(ForfeitApplication.deposit_id)))


FIGURES = ("amount", "to_resale_costs", "to_price_shortfall", "to_debt", "applied_to_claim",
           "to_owner")


def totals(apps: Sequence[ForfeitApplication]) -> dict[str, Decimal]:
    return {k: sum((getattr(a, k) for a in apps), ZERO) for k in FIGURES}


def as_dict(fa: ForfeitApplication) -> dict:
    return {"deposit_id": fa.deposit_id, "settlement_id": fa.settlement_id,
            "defaulted_price": fa.defaulted_price, "as_of": fa.as_of,
            **{k: getattr(fa, k) for k in FIGURES}}
