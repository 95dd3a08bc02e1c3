"""Oversight records: loan grades (五级分类) with history, banks' overall NPL ratios by
quarter, tolerance flags, and the kept quarterly IP-pledge reports."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Rate, UTCDateTime

# Best to worst; the last three are non-performing (银保监发〔2019〕34号).
GRADES = ("normal", "special_mention", "substandard", "doubtful", "loss")
NPL_GRADES = ("substandard", "doubtful", "loss")


class LoanGrade(Base):
    """A grade the bank recorded for a loan from `as_of` on. Append-only: the history is
    what a reviewer reads; the grade on a date is the latest recorded on or before it."""

    __tablename__ = "loan_grades"
    __table_args__ = (Index("ix_loan_grades_loan_as_of", "loan_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    grade: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class OverallNplRatio(Base):
    """A bank's overall NPL ratio for a quarter, as the bank reports it (one per quarter)."""

    __tablename__ = "overall_npl_ratios"
    __table_args__ = (UniqueConstraint("org_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    period: Mapped[str] = mapped_column(String(7))
    ratio: Mapped[Decimal] = mapped_column(Rate)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class NplToleranceFlag(Base):
    """Raised when a bank's IP-pledge NPL ratio moves outside the tolerance, cleared when it
    comes back. At most one open flag per bank: the partial unique index decides between
    schedulers that raise it at once."""

    __tablename__ = "npl_tolerance_flags"
    __table_args__ = (
        Index("uq_npl_tolerance_flags_open", "org_id", unique=True,
              postgresql_where=text("cleared_at IS NULL"),
              sqlite_where=text("cleared_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    period: Mapped[str] = mapped_column(String(7))
    gap_pp: Mapped[Decimal] = mapped_column(Rate)
    tolerance_pp: Mapped[Decimal] = mapped_column(Rate)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IpPledgeReport(Base):
    """A bank's IP-pledge statistics for an ended quarter, generated once and kept: what was
    reported stays what it was, whatever is recorded later."""

    __tablename__ = "ip_pledge_reports"
    __table_args__ = (UniqueConstraint("org_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    period: Mapped[str] = mapped_column(String(7))
    figures: Mapped[str] = mapped_column(Text)  # the report row as JSON
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
