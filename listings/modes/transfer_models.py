"""A listed transfer's terms and the state of its disclosure period (挂牌转让)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from market.db import Base, Money, UTCDateTime

from ..models import Listing

OUTCOMES = ("no_buyer", "agreement", "auction")


class ListingTransfer(Base):
    """One per transfer listing. `status`: awaiting (no period yet: draft or review) →
    disclosure (the period runs until disclosure_ends_at) → decided (the scheduler
    counted the buyers once: `outcome`); a relist starts a new period or goes back to
    review."""

    __tablename__ = "listing_transfers"
    TRANSITIONS = {
        "awaiting": frozenset({"disclosure"}),
        "disclosure": frozenset({"decided", "awaiting"}),
        "decided": frozenset({"disclosure", "awaiting"}),
    }
    LIFECYCLE = "transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), unique=True)
    list_price: Mapped[Decimal] = mapped_column(Money)
    deposit: Mapped[Decimal] = mapped_column(Money)
    increment: Mapped[Decimal] = mapped_column(Money)
    # As given; None: the rule's number of working days (10, or 20 above ¥10M).
    disclosure_days: Mapped[int | None] = mapped_column(Integer)
    auction_seconds: Mapped[int] = mapped_column(Integer, default=86400)
    status: Mapped[str] = mapped_column(String(16), default="awaiting", index=True)
    disclosure_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # The period's last working day (with MARKET_DISCLOSURE_SECONDS: the business date
    # on which it ended): an agreement's as_of.
    period_last_day: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    listing: Mapped[Listing] = relationship(
        backref=backref("transfer_terms", uselist=False, lazy="selectin",
                        cascade="all, delete-orphan"))
