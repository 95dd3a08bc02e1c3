"""Payments of a sale's balance, deposits, and the Stripe webhook events we have received."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, UTCDateTime

PAYMENT_STATUSES = ("pending", "paid", "cancelled", "failed")
# releasing: released in the ledger, the card hold not yet cancelled at Stripe;
# captured: a forfeited card hold whose money Stripe has taken.
DEPOSIT_STATUSES = ("pending", "held", "releasing", "released", "applied", "forfeited",
                    "captured", "cancelled")


class Payment(Base):
    """Money a buyer owes the exchange: the balance of a sale (price + premium − deposit).

    `listing_id` names the sale; the settlement module knows nothing of auctions.
    """

    __tablename__ = "payments"
    LIFECYCLE: ClassVar[str] = "payment"
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "pending": frozenset({"paid", "cancelled", "failed"}),
        "paid": frozenset(),
        "cancelled": frozenset(),
        "failed": frozenset(),
    }
    __table_args__ = (
        Index("ix_payments_status", "status"),
        # One pending payment per payable (a sale's balance) at most: two requests racing
        # to start one cannot both insert (the loser returns the winner's; see services).
        Index("uq_payments_one_pending", "settlement_id", "purpose", unique=True,
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    payer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="balance")
    # What a payment not tied to a settlement pays, by purpose (a licence's id for
    # "licence"); the package that owns it acts on hook payment.paid.
    payable_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    method: Mapped[str] = mapped_column(String(8))  # offline, stripe
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    provider_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    due_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Stripe: given to the buyer's browser to confirm the intent (not a secret key).
    client_secret: Mapped[str | None] = mapped_column(String(120))
    # Set (and committed) by whoever claims the one call that creates the intent:
    # with it set and no provider_ref, a crash happened mid-call and we recover the
    # intent by its idempotency key rather than create a second one.
    provider_call_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Deposit(Base):
    """Money a would-be buyer puts up to take part in a sale (法释〔2016〕18号: 5–20% of the
    price): held while the sale runs, then released, applied to the price or forfeited.

    Its owner is the sale: `listing_id`, and `auction_id` for a round of an auction
    (a transfer registration has none). The core knows the auction only by its id."""

    __tablename__ = "deposits"
    LIFECYCLE: ClassVar[str] = "deposit"
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        # A card deposit still pending when its sale ends may hold an intent at Stripe
        # (confirmed by the buyer late): cancelling until a sweep cancels it there.
        "pending": frozenset({"held", "cancelled", "cancelling"}),
        "cancelling": frozenset({"cancelled"}),
        # Offline money goes back at once (released); a card hold is cancelled by a sweep.
        "held": frozenset({"released", "releasing", "applied", "forfeited"}),
        "releasing": frozenset({"released"}),
        "applied": frozenset({"forfeited"}),
        "forfeited": frozenset({"captured"}),
        "released": frozenset(),
        "captured": frozenset(),
        "cancelled": frozenset(),
    }
    __table_args__ = (Index("ix_deposits_auction_user", "auction_id", "user_id"),
                      Index("ix_deposits_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    auction_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    method: Mapped[str] = mapped_column(String(8))  # offline, stripe
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # bank-transfer reference
    provider_ref: Mapped[str | None] = mapped_column(String(64), unique=True)  # Stripe PI id
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    held_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    release_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    forfeited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class StripeEvent(Base):
    """Every verified webhook, stored by event id so each is applied once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(80), index=True)
    payload: Mapped[str] = mapped_column(Text)
    created: Mapped[int] = mapped_column(Integer)  # Stripe's event timestamp
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)


REFUND_STATUSES = ("requested", "sent")


class Refund(Base):
    """Money the exchange owes back to an organisation (a released offline deposit, a
    second paid balance…): an operator executes the bank transfer and marks it sent with
    the bank's reference, so "returned within 24 h" is a fact the desk can show."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    reason: Mapped[str] = mapped_column(Text, default="")
    # What the money came from, e.g. "deposit:12": one refund per source.
    source: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bank_reference: Mapped[str | None] = mapped_column(String(64))
