"""Settlements of sales against loans, and the double-entry, append-only ledger."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Money, UTCDateTime

SETTLEMENT_STATUSES = ("awaiting_payment", "settled", "defaulted")


class Settlement(Base):
    """A sale's figures, fixed at the close (as_of = business date of the final ends_at),
    applied to the loan once when the price is paid."""

    __tablename__ = "settlements"
    LIFECYCLE: ClassVar[str] = "settlement"
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "awaiting_payment": frozenset({"settled", "defaulted"}),
        "settled": frozenset(),
        "defaulted": frozenset(),
    }
    # Market data reads settled sales newest first (market/marketdata/sales.py).
    __table_args__ = (Index("ix_settlements_status_settled_at", "status", "settled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a sale that no listing made (an agreed valuation).
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), index=True)
    sale_ref: Mapped[str] = mapped_column(String(40), unique=True)  # e.g. "auction:17"
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    pledgor_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    buyer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A buyer known only as an organisation (a backstop fund, 托底式收购): any of its
    # investor users may pay.
    buyer_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    price: Mapped[Decimal] = mapped_column(Money)
    buyer_premium: Mapped[Decimal] = mapped_column(Money)
    seller_commission: Mapped[Decimal] = mapped_column(Money)
    disposal_costs: Mapped[Decimal] = mapped_column(Money)
    net_proceeds: Mapped[Decimal] = mapped_column(Money)
    applied_costs: Mapped[Decimal] = mapped_column(Money)
    applied_penalty_interest: Mapped[Decimal] = mapped_column(Money)
    applied_interest: Mapped[Decimal] = mapped_column(Money)
    applied_principal: Mapped[Decimal] = mapped_column(Money)
    surplus_to_pledgor: Mapped[Decimal] = mapped_column(Money)
    claim_total: Mapped[Decimal] = mapped_column(Money)
    # The claim as of as_of by head (民法典 561 order), fixed with the figures so the
    # statement shows what was owed beside what was applied.
    claim_costs: Mapped[Decimal | None] = mapped_column(Money)
    claim_penalty_interest: Mapped[Decimal | None] = mapped_column(Money)
    claim_interest: Mapped[Decimal | None] = mapped_column(Money)
    claim_principal: Mapped[Decimal | None] = mapped_column(Money)
    shortfall: Mapped[Decimal] = mapped_column(Money)
    lender_loss: Mapped[Decimal] = mapped_column(Money)
    deposit_applied: Mapped[Decimal] = mapped_column(Money)
    as_of: Mapped[dt.date] = mapped_column(Date)
    balance_due: Mapped[Decimal] = mapped_column(Money)
    balance_due_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    defaulted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    risk_shares: Mapped[list["SettlementRiskShare"]] = relationship(
        order_by="SettlementRiskShare.position", lazy="selectin")
    # Earlier winners' forfeited deposits applied when this sale closed (悔拍).
    forfeits: Mapped[list["ForfeitApplication"]] = relationship(
        order_by="ForfeitApplication.deposit_id", lazy="selectin")


class SettlementRiskShare(Base):
    __tablename__ = "settlement_risk_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    position: Mapped[int] = mapped_column(Integer)


class JournalEntry(Base):
    """One balanced movement of money. Never updated or deleted."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    ref_type: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    # Makes each movement happen once: a retry finds the key taken.
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)

    lines: Mapped[list["JournalLine"]] = relationship(lazy="selectin", order_by="JournalLine.id")


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (CheckConstraint("debit >= 0 AND credit >= 0", name="non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(40), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    debit: Mapped[Decimal] = mapped_column(Money)
    credit: Mapped[Decimal] = mapped_column(Money)
    memo: Mapped[str] = mapped_column(Text, default="")


class ForfeitApplication(Base):
    """How one forfeited deposit (悔拍) was applied, per 法释〔2016〕18号: to the re-sale's
    costs, then to the fall in price against the defaulted sale, then to the debt.

    Those three are what the money makes good; where it goes is the claim (all three are
    the bank's loss otherwise), in 民法典 561 order, and any rest to the pledgor (or to an
    owner selling its own IP). One row per deposit: the unique key makes it happen once."""

    __tablename__ = "forfeit_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    deposit_id: Mapped[int] = mapped_column(Integer, unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    # The re-sale it was applied with; None when no re-sale came and it went to the debt.
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    defaulter_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    pledgor_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    defaulted_price: Mapped[Decimal | None] = mapped_column(Money)
    to_resale_costs: Mapped[Decimal] = mapped_column(Money)
    to_price_shortfall: Mapped[Decimal] = mapped_column(Money)
    to_debt: Mapped[Decimal] = mapped_column(Money)
    applied_to_claim: Mapped[Decimal] = mapped_column(Money)
    # What the claim did not need: the pledgor's, or the owner's when it sold its own IP.
    to_owner: Mapped[Decimal] = mapped_column(Money)
    as_of: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
