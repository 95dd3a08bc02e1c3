"""Times are UTC in storage; business dates are dates in MARKET_TIMEZONE."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def business_date(instant: dt.datetime, tz_name: str) -> dt.date:
    return as_utc(instant).astimezone(ZoneInfo(tz_name)).date()


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()
