"""Equity contribution (作价入股): a listing's terms and the companies' offers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, Money, Rate, UTCDateTime

CONSIDERATION_TO = ("nominee", "pledgor")


class EquityTerms(Base):
    """An equity listing's terms: the minimum valuation a company must offer, and the
    pledgor's consent when a bank contributes pledged IP for it (民法典 444)."""

    __tablename__ = "equity_terms"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    min_valuation: Mapped[Decimal] = mapped_column(Money)
    pledgor_consent_ref: Mapped[str | None] = mapped_column(String(120))


class EquityOffer(Base):
    """A company's offer to take the listing's IP for `share_of_company` of its shares,
    the IP valued at `valuation`."""

    __tablename__ = "equity_offers"
    LIFECYCLE: ClassVar[str] = "equity_offer"
    # An accepted offer lapses when the nominee does not pay by the deadline.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "pending": frozenset({"accepted", "rejected"}),
        "accepted": frozenset({"lapsed"}),
        "rejected": frozenset(),
        "lapsed": frozenset(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    company_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    offered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    valuation: Mapped[Decimal] = mapped_column(Money)
    share_of_company: Mapped[Decimal] = mapped_column(Rate)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    consideration_to: Mapped[str | None] = mapped_column(String(16))
    nominee_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    registration_no: Mapped[str | None] = mapped_column(String(64))  # the share pledge's
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    equity_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
