"""Settlement by sale: whatever disposed of the collateral (an auction's close, a backstop
purchase, later a transfer agreement, equity to a nominee or an agreed valuation) hands
settlement a `Sale` of plain values. This module knows no listing or auction.

`open_sale` fixes the sale's figures (the waterfall of services.py, 民法典 561 order);
`settle_sale` applies them once when the price is paid.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from ..money import ZERO
from . import services
from .forfeits import ForfeitedDeposit
from .models import Settlement


@dataclass(frozen=True)
class Sale:
    """One disposal, as plain values.

    `mode` and `source_id` say where it came from ("auction" and the auction's id); with
    them they make the sale's reference, which makes opening it idempotent. A buyer is a
    user (its organisation is taken) or only an organisation (a backstop fund).
    `forfeits` are earlier buyers' forfeited deposits to apply first (悔拍)."""

    mode: str
    source_id: int | str
    seller_org_id: int
    price: Decimal
    as_of: dt.date
    listing_id: int | None = None
    loan_id: int | None = None
    pledgor_org_id: int | None = None
    buyer_user_id: int | None = None
    buyer_org_id: int | None = None
    asset_ids: tuple[int, ...] = ()
    disposal_costs: Decimal = ZERO
    deposit_applied: Decimal = ZERO
    balance_due_by: dt.datetime | None = None
    currency: str = "CNY"
    forfeits: tuple[ForfeitedDeposit, ...] = ()
    # False for a sale the exchange did not make (an agreed valuation: the bank takes the
    # IP itself): no seller commission and no buyer premium.
    exchange_fees: bool = True

    @property
    def ref(self) -> str:
        return f"{self.mode}:{self.source_id}"


def open_sale(session: Session, sale: Sale) -> Settlement:
    """Fix the sale's figures (status awaiting_payment); idempotent on the sale's ref."""
    return services.open_sale(
        session, listing_id=sale.listing_id, sale_ref=sale.ref, loan_id=sale.loan_id,
        seller_org_id=sale.seller_org_id, pledgor_org_id=sale.pledgor_org_id,
        buyer_user_id=sale.buyer_user_id, buyer_org_id=sale.buyer_org_id, price=sale.price,
        deposit_applied=sale.deposit_applied, disposal_costs=sale.disposal_costs,
        as_of=sale.as_of, balance_due_by=sale.balance_due_by, currency=sale.currency,
        forfeits=sale.forfeits, asset_ids=sale.asset_ids, exchange_fees=sale.exchange_fees)


def settle_sale(session: Session, settlement_id: int, *, paid_at: dt.datetime,
                actor_id: int | None = None) -> bool:
    """The price is paid: apply the sale to the loan exactly once (True when this call
    settled it, False when it was settled already)."""
    return services.settle(session, settlement_id, paid_at=paid_at, actor_id=actor_id)
