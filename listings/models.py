"""Listings, their assets, lifecycle transitions, costs, documents, NDAs, watchlist."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (Boolean, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func, literal_column, text)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from market.db import Base, Money, Rate, UTCDateTime

MODES = ("auction", "transfer", "licensing", "equity")
STATUSES = ("draft", "pending_review", "changes_requested", "rejected", "published",
            "unpublished", "withdrawn", "sold", "failed", "settled", "licensed", "unsold")


class SearchVector(TypeDecorator):
    """A tsvector on PostgreSQL (written as to_tsvector('simple', search_text) by
    listings/search.py); unused text on SQLite, which searches search_text with LIKE."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(Text())


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_status_mode", "status", "mode"),
        # PostgreSQL full-text search over the bigram-expanded search text (search.py):
        # pg_trgm cannot index two-character Chinese words; bigram tokens in a 'simple'
        # tsvector can. The vector is a stored column, not an expression, so a row can be
        # tested without re-parsing its text: PostgreSQL may then walk the sort index
        # (newest, price, closing) and stop after a page. The partial index serves the
        # public (published) search: its predicate answers `status = 'published'`, so a
        # count needs no heap visit. bench/search.py measures it on 100k listings.
        Index("ix_listings_search", "search_tsv",
              postgresql_using="gin").ddl_if(dialect="postgresql"),
        Index("ix_listings_search_published", "search_tsv", postgresql_using="gin",
              postgresql_where=text("status = 'published'")).ddl_if(dialect="postgresql"),
        Index("ix_listings_price", text("coalesce(start_price, ask_price)")),
        Index("ix_listings_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    review_comment: Mapped[str | None] = mapped_column(Text)  # changes requested
    # Asking price for transfer / licensing / equity listings.
    ask_price: Mapped[Decimal | None] = mapped_column(Money)
    # Auction terms as created (the first round copies them into an Auction row).
    start_price: Mapped[Decimal | None] = mapped_column(Money)
    increment: Mapped[Decimal | None] = mapped_column(Money)
    deposit: Mapped[Decimal | None] = mapped_column(Money)
    reserve_price: Mapped[Decimal | None] = mapped_column(Money)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    allow_proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_window_s: Mapped[int] = mapped_column(Integer, default=300)
    extension_s: Mapped[int] = mapped_column(Integer, default=300)
    backstop_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    backstop_price: Mapped[Decimal | None] = mapped_column(Money)
    # 托底式收购 binds only once a user of the fund accepts it (API.md "Backstop purchase").
    # No FK: a plain id, like auction_id (SQLite cannot add a constrained column in place).
    backstop_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    backstop_accepted_by: Mapped[int | None] = mapped_column(Integer)
    # The seller's start time when approval moved the round to honour the notice period.
    requested_starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The next round's start-price cut after a failed round (≤ the operator's maximum);
    # None means the maximum.
    reauction_cut: Mapped[Decimal | None] = mapped_column(Rate)
    # The current round's auction (set by the auctions package; no FK to keep the
    # listings package free of auctions).
    auction_id: Mapped[int | None] = mapped_column(Integer)
    # Denormalised text for search: title, description, asset titles/abstracts/numbers,
    # with CJK text also split into overlapping bigrams (see listings/search.py).
    search_text: Mapped[str] = mapped_column(Text, default="")
    search_tsv: Mapped[str | None] = mapped_column(SearchVector, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)

    assets: Mapped[list["ListingAsset"]] = relationship(
        back_populates="listing", order_by="ListingAsset.position", lazy="selectin",
        cascade="all, delete-orphan")


def search_vector(value):
    """strip(to_tsvector('simple', value)): what search_tsv holds on PostgreSQL. Positions
    are stripped: nothing ranks or matches phrases, and narrower rows scan faster."""
    return func.strip(func.to_tsvector(literal_column("'simple'::regconfig"), value))


class ListingAsset(Base):
    __tablename__ = "listing_assets"
    __table_args__ = (UniqueConstraint("listing_id", "asset_id", name="uq_listing_asset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    listing: Mapped[Listing] = relationship(back_populates="assets")


class ListingTransition(Base):
    """Every lifecycle transition: who, when, from, to, why (sharetribe-style)."""

    __tablename__ = "listing_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ListingCost(Base):
    """Disposal costs recorded on a listing: deducted from the price before the loan."""

    __tablename__ = "listing_costs"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ListingDocument(Base):
    __tablename__ = "listing_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))  # a file under UPLOAD_FOLDER
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # summary: no NDA needed
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class NdaAcceptance(Base):
    __tablename__ = "nda_acceptances"
    __table_args__ = (UniqueConstraint("listing_id", "user_id", name="uq_nda"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Watch(Base):
    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("user_id", "listing_id", name="uq_watch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PriorityHolder(Base):
    """A holder of a priority right (优先购买权) on a listing, ranked by the operator."""

    __tablename__ = "priority_holders"
    __table_args__ = (UniqueConstraint("listing_id", "org_id", name="uq_priority_holder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    rank: Mapped[int] = mapped_column(Integer)  # 1 is the best
    basis: Mapped[str] = mapped_column(String(200), default="")  # co-owner, exclusive licensee…
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
