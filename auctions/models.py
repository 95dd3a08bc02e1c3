"""Auctions (one row per round), qualified bidders and bids (deposits are the core's:
market/payments/models.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import (Boolean, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, Money, UTCDateTime

STAGES = ("auction", "fixed_price")
STATUSES = ("scheduled", "open", "closed", "failed", "cancelled")


class Auction(Base):
    __tablename__ = "auctions"
    LIFECYCLE: ClassVar[str] = "auction"
    # A scheduled round whose start the opening sweep missed closes all the same.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "scheduled": frozenset({"open", "closed", "failed", "cancelled"}),
        "open": frozenset({"closed", "failed", "cancelled"}),
        "closed": frozenset(),
        "failed": frozenset(),
        "cancelled": frozenset(),
    }
    __table_args__ = (
        UniqueConstraint("listing_id", "round", name="uq_auction_round"),
        Index("ix_auctions_due", "status", "ends_at"),
        Index("ix_auctions_start", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    stage: Mapped[str] = mapped_column(String(16), default="auction")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    start_price: Mapped[Decimal] = mapped_column(Money)
    increment: Mapped[Decimal] = mapped_column(Money)
    deposit_amount: Mapped[Decimal] = mapped_column(Money)
    reserve_price: Mapped[Decimal | None] = mapped_column(Money)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # 变卖 stage: the latest the stage may run; the first bid starts a countdown.
    stage_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    extension_window_s: Mapped[int] = mapped_column(Integer, default=300)
    extension_s: Mapped[int] = mapped_column(Integer, default=300)
    allow_proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    current_price: Mapped[Decimal | None] = mapped_column(Money)
    bid_count: Mapped[int] = mapped_column(Integer, default=0)
    leader_bidder_id: Mapped[int | None] = mapped_column(Integer)
    leader_code: Mapped[str | None] = mapped_column(String(16))
    winner_bidder_id: Mapped[int | None] = mapped_column(Integer)
    winner_code: Mapped[str | None] = mapped_column(String(16))
    winner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(24))  # sold, no_bid, reserve_not_met, backstop
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuctionBidder(Base):
    """A qualified bidder in one auction: the anonymous code other bidders see."""

    __tablename__ = "auction_bidders"
    __table_args__ = (
        UniqueConstraint("auction_id", "user_id", name="uq_auction_bidder_user"),
        UniqueConstraint("auction_id", "code", name="uq_auction_bidder_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    code: Mapped[str] = mapped_column(String(16))
    deposit_id: Mapped[int | None] = mapped_column(Integer)
    priority_rank: Mapped[int | None] = mapped_column(Integer)
    proxy_max: Mapped[Decimal | None] = mapped_column(Money)
    proxy_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    qualified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Bid(Base):
    __tablename__ = "bids"
    __table_args__ = (Index("ix_bids_auction_id", "auction_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"))
    bidder_id: Mapped[int] = mapped_column(ForeignKey("auction_bidders.id"))
    bidder_code: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    max_amount: Mapped[Decimal | None] = mapped_column(Money)
    kind: Mapped[str] = mapped_column(String(12), default="bid")  # bid, proxy, priority
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BarredBidder(Base):
    """A winner who defaulted (悔拍) may not bid when the listing is sold again: nor may
    anyone of its organisation (`org_id`), the buyer in law (法释〔2016〕18号 art. 24)."""

    __tablename__ = "barred_bidders"
    __table_args__ = (UniqueConstraint("listing_id", "user_id", name="uq_barred"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
