"""Payments of a sale's balance, and the Stripe webhook events we have received."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, UTCDateTime

PAYMENT_STATUSES = ("pending", "paid", "cancelled", "failed")


class Payment(Base):
    """Money a buyer owes the exchange: the balance of a sale (price + premium − deposit).

    `listing_id` names the sale; the settlement module knows nothing of auctions.
    """

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    payer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="balance")
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
