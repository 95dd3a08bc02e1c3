"""The mainland-China working-day calendar (listed-transfer disclosure periods).

Public holidays and make-up working weekends (调休) come from the `holidays` package
(`holidays.China`: its `is_working_day` knows both). The State Council publishes each
next year's schedule late in the year and a library release may lag or guess it, so an
operator may record any day as a holiday or a working day (`calendar_days`): a recorded
day wins over the library.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from sqlalchemy import Boolean, Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .db import Base, UTCDateTime
from .errors import Invalid, NotFound
from .timeutil import utcnow

MAX_DAYS = 366  # n in a working-day question: a disclosure period is weeks, never years


class CalendarDay(Base):
    """An operator's word on one day: working or not (it wins over the library)."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@lru_cache(maxsize=64)
def _library_year(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def library_working(day: dt.date) -> bool:
    """The library's answer: a weekday that is no public holiday, or a make-up weekend."""
    return _library_year(day.year).is_working_day(day)


def _overrides(session: Session, start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    rows = session.execute(select(CalendarDay.day, CalendarDay.working)
                           .where(CalendarDay.day >= start, CalendarDay.day <= end))
    return {row.day: row.working for row in rows}


def nth_working_day_after(session: Session, after: dt.date, n: int) -> dt.date:
    """The n-th working day after `after` (`after` itself is not counted)."""
    if not 1 <= n <= MAX_DAYS:
        raise Invalid("invalid_n", f"n must be between 1 and {MAX_DAYS}")
    # Enough room for n working days and every holiday among them (≤ 3 calendar days each).
    overrides = _overrides(session, after, after + dt.timedelta(days=n * 3 + 30))
    day, left = after, n
    while left:
        day += dt.timedelta(days=1)
        if overrides[day] if day in overrides else library_working(day):
            left -= 1
    return day


def _key(day: dt.date) -> int:
    """The audit object id of a day: 20261001."""
    return day.year * 10000 + day.month * 100 + day.day


def set_day(session: Session, day: dt.date, working: bool, note: str, actor_id: int) -> CalendarDay:
    row = session.get(CalendarDay, day)
    before = None if row is None else {"working": row.working, "note": row.note}
    if row is None:
        row = CalendarDay(day=day)
        session.add(row)
    row.working, row.note = working, note or ""
    row.updated_by, row.updated_at = actor_id, utcnow()
    session.flush()
    audit.record(session, "calendar.day_set", "calendar_day", _key(day), actor_id=actor_id,
                 before=before, after={"day": day, "working": working, "note": row.note})
    return row


def clear_day(session: Session, day: dt.date, actor_id: int) -> None:
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound("calendar day")
    audit.record(session, "calendar.day_cleared", "calendar_day", _key(day), actor_id=actor_id,
                 before={"day": day, "working": row.working, "note": row.note})
    session.delete(row)
    session.flush()
