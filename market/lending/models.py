"""Loans, their money events, pledges, risk shares and monitoring flags."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Money, Rate, UTCDateTime

LOAN_STATUSES = ("performing", "defaulted", "settled")
EVENT_KINDS = ("repayment", "cost", "recovery")
PLEDGE_STATUSES = ("registered", "released", "enforced")
FLAG_KINDS = ("overdue", "ltv", "asset_not_in_force", "annuity_due", "valuation_expired",
              "disposal_deadline")


class Loan(Base):
    __tablename__ = "loans"
    LIFECYCLE: ClassVar[str] = "loan"
    # The status changes only by default and by settlement (API.md); an owner's own
    # collateral may be sold while its loan still performs.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "performing": frozenset({"defaulted", "settled"}),
        "defaulted": frozenset({"settled"}),
        "settled": frozenset(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    borrower_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    penalty_rate: Mapped[Decimal] = mapped_column(Rate)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    maturity_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="performing", index=True)
    defaulted_on: Mapped[dt.date | None] = mapped_column(Date)  # declared_on of the default
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(64))  # the bank's own loan number
    # The borrower's first bank loan (首贷户): the bank knows it from the credit registry.
    first_loan: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    events: Mapped[list["LoanEvent"]] = relationship(
        back_populates="loan", order_by="LoanEvent.id", lazy="selectin")
    # The loan's current pledge: a replaced one (replacement collateral, 民法典 443)
    # stays on record but is no longer the loan's.
    pledge: Mapped["Pledge | None"] = relationship(
        primaryjoin="and_(Loan.id == Pledge.loan_id, Pledge.replaced_by_id.is_(None))",
        uselist=False, lazy="selectin", viewonly=True)
    risk_shares: Mapped[list["RiskShare"]] = relationship(
        back_populates="loan", order_by="RiskShare.position", lazy="selectin")


class LoanEvent(Base):
    """A money event on a loan: a repayment, an enforcement cost, or a recovery from a
    disposal. Append-only; the claim on any date is computed from these rows."""

    __tablename__ = "loan_events"
    __table_args__ = (Index("ix_loan_events_loan_date", "loan_id", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    on_date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    settlement_id: Mapped[int | None] = mapped_column(Integer)  # set for recoveries
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    loan: Mapped[Loan] = relationship(back_populates="events")


class Pledge(Base):
    __tablename__ = "pledges"
    # One current pledge per loan; replaced ones point at their replacement.
    __table_args__ = (
        Index("uq_pledges_current_loan", "loan_id", unique=True,
              postgresql_where=text("replaced_by_id IS NULL"),
              sqlite_where=text("replaced_by_id IS NULL")),
    )
    LIFECYCLE: ClassVar[str] = "pledge"
    # A released pledge (claim paid) is over: it can never be enforced.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "registered": frozenset({"released", "enforced"}),
        "released": frozenset(),
        "enforced": frozenset(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    registration_no: Mapped[str] = mapped_column(String(64), unique=True)
    registered_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="registered")
    released_on: Mapped[dt.date | None] = mapped_column(Date)
    enforced_on: Mapped[dt.date | None] = mapped_column(Date)
    # Set when other collateral took this pledge's place for the same loan.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"))

    loan: Mapped[Loan] = relationship(foreign_keys=[loan_id])
    items: Mapped[list["PledgeAsset"]] = relationship(back_populates="pledge", lazy="selectin")


class PledgeAsset(Base):
    """One asset under one pledge. `active` is true while the pledge is registered;
    the partial unique index makes a second active pledge of an asset impossible,
    whatever the application does (专利权质押登记办法: no second pledge)."""

    __tablename__ = "pledge_assets"
    __table_args__ = (
        Index("uq_pledge_assets_active_asset", "asset_id", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active = 1")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    pledge: Mapped[Pledge] = relationship(back_populates="items")


class RiskShare(Base):
    __tablename__ = "risk_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    share: Mapped[Decimal] = mapped_column(Rate)
    cap: Mapped[Decimal | None] = mapped_column(Money)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order as listed
    # open → due (a settlement left a shortfall) → paid; moved only by
    # market/oversight/risk_shares.py, which writes the audit and the ledger entry.
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    amount_due: Mapped[Decimal | None] = mapped_column(Money)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    loan: Mapped[Loan] = relationship(back_populates="risk_shares")


class LoanFlag(Base):
    """A monitoring flag (not a status): raised by a job, cleared when it no longer holds."""

    __tablename__ = "loan_flags"
    __table_args__ = (Index("ix_loan_flags_open", "loan_id", "kind", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(24))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    detail: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BankProfile(Base):
    """Per-bank figures the dashboard needs (overall NPL ratio for the 3-pp tolerance)."""

    __tablename__ = "bank_profiles"

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    overall_npl_ratio: Mapped[Decimal | None] = mapped_column(Rate)
    ltv_threshold: Mapped[Decimal | None] = mapped_column(Rate)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


AGREED_STATUSES = ("holding", "disposed", "overdue")


class AgreedValuation(Base):
    """协议折价 (民法典 436): the bank took the pledged IP against the debt at an agreed value
    and must dispose of it by `dispose_by` (财金〔2005〕53号). `overdue` when the date passed
    with assets unsold; `disposed` once the bank has sold every one of them."""

    __tablename__ = "agreed_valuations"
    LIFECYCLE: ClassVar[str] = "agreed_valuation"
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "holding": frozenset({"disposed", "overdue"}),
        "overdue": frozenset({"disposed"}),
        "disposed": frozenset(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)  # the agreed value (API: `value`)
    agreed_on: Mapped[dt.date] = mapped_column(Date)
    dispose_by: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="holding",
                                        server_default="holding")
    pledgor_consent_ref: Mapped[str] = mapped_column(String(200), default="",
                                                     server_default="")
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    # The bank's organisation that took the assets (their seller when it disposes).
    bank_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disposed_on: Mapped[dt.date | None] = mapped_column(Date)
