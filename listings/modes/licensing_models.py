"""Licensing (许可): a licensing listing's terms and the licences granted under it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, Money, Rate, UTCDateTime

KINDS = ("exclusive", "sole", "non_exclusive")
# 独占 and 排他 exclude other licensees in their field and territory.
EXCLUDING_KINDS = ("exclusive", "sole")
LICENCE_STATUSES = ("applied", "awaiting_payment", "active", "rejected", "cancelled", "expired")
# A licence that holds its field and territory: granted and payable, or paid and running.
HOLDING_STATUSES = ("awaiting_payment", "active")


class TermsColumns:
    """The terms a listing publishes and a licence copies when it is applied for."""

    kind: Mapped[str] = mapped_column(String(16))
    open: Mapped[bool] = mapped_column(Boolean, default=False)
    field: Mapped[str] = mapped_column(String(200), default="")
    territory: Mapped[str] = mapped_column(String(60), default="CN")
    term_months: Mapped[int] = mapped_column(Integer)
    upfront_fee: Mapped[Decimal] = mapped_column(Money)
    royalty_rate: Mapped[Decimal] = mapped_column(Rate)
    minimum_annual_royalty: Mapped[Decimal] = mapped_column(Money)


TERMS = ("kind", "open", "field", "territory", "term_months", "upfront_fee", "royalty_rate",
         "minimum_annual_royalty")


class LicenceTerms(TermsColumns, Base):
    """The published terms of a licensing listing (one row per listing), with the
    consents that let pledged or co-owned IP be licensed (民法典 444)."""

    __tablename__ = "licence_terms"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    pledgor_consent_ref: Mapped[str | None] = mapped_column(String(200))
    pledgee_consent_ref: Mapped[str | None] = mapped_column(String(200))


class Licence(TermsColumns, Base):
    """One licence: applied for (or taken, for an open licence), accepted, paid, in force
    on [starts_on, ends_on), then expired. The terms are copied from the listing when
    the licence is applied for, so later edits never change a granted licence."""

    __tablename__ = "licences"
    LIFECYCLE: ClassVar[str] = "licence"
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "applied": frozenset({"awaiting_payment", "rejected"}),
        "awaiting_payment": frozenset({"active", "cancelled"}),
        "active": frozenset({"expired"}),
        "rejected": frozenset(),
        "cancelled": frozenset(),
        "expired": frozenset(),
    }
    __table_args__ = (Index("ix_licences_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    licensor_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    licensee_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(20), default="applied")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    pay_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    commission_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    applied_to_loan: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_to_owner: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RoyaltyReport(Base):
    """A licensee's report of net sales for a period and the royalty it owes (`report`),
    or the scheduler's bill for a licence year's shortfall against the minimum annual
    royalty (`minimum`, once per year: the unique key). Its payment is a Payment of
    purpose "royalty" whose payable_id is this row's id."""

    __tablename__ = "royalty_reports"
    __table_args__ = (UniqueConstraint("licence_id", "kind", "period_start",
                                       name="uq_royalty_report_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licences.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # report, minimum
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    net_sales: Mapped[Decimal | None] = mapped_column(Money)
    royalty: Mapped[Decimal] = mapped_column(Money)
    payment_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
