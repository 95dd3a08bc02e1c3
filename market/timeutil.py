"""Times are UTC in storage; business dates are dates in MARKET_TIMEZONE."""
from __future__ import annotations

import contextlib
import datetime as dt
from contextvars import ContextVar
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc

# An injected clock (market.timeutil.clock): the demo's history runs the real flows as of
# past instants. Unset, utcnow is the system clock plus the tests' offset.
_clock: ContextVar[Callable[[], dt.datetime] | None] = ContextVar("market_clock", default=None)
# Zero in production. Tests move it forward (advance) instead of sleeping on the wall
# clock until an auction opens or closes; every reader of the time goes through utcnow.
_offset = dt.timedelta(0)


def utcnow() -> dt.datetime:
    injected = _clock.get()
    return injected() if injected is not None else dt.datetime.now(UTC) + _offset


@contextlib.contextmanager
def clock(now: Callable[[], dt.datetime]) -> Iterator[None]:
    """Within the block, utcnow() answers now() (an aware instant) in this context (a
    thread started inside the block does not inherit it: it runs on the system clock)."""
    token = _clock.set(now)
    try:
        yield
    finally:
        _clock.reset(token)


def advance(delta: dt.timedelta) -> None:
    """Move this process's clock forward by `delta` (tests only)."""
    global _offset
    _offset += delta


def reset_clock() -> None:
    global _offset
    _offset = dt.timedelta(0)


def as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def business_date(instant: dt.datetime, tz_name: str) -> dt.date:
    return as_utc(instant).astimezone(ZoneInfo(tz_name)).date()


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()
