"""What the public sees of an auction: the API.md shape, from an ORM row or a Core row."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from market.errors import NotFound
from market.inputs import MAX_ID
from market.money import fmt
from market.timeutil import iso


def min_next_bid(start_price: Decimal, increment: Decimal, current: Decimal | None) -> Decimal:
    """法释〔2016〕18号: the first bid may equal the start price, then rise by increments."""
    return start_price if current is None else current + increment


def reserve_met(reserve: Decimal | None, current: Decimal | None) -> bool:
    """The reserve stays hidden; only whether it is met is shown (no reserve: always met)."""
    if reserve is None:
        return True
    return current is not None and current >= reserve


def auction_dict(a) -> dict:
    """`a` is an Auction or any object/mapping with the same attribute names."""
    get = a.__getitem__ if isinstance(a, dict) else (lambda k: getattr(a, k))
    current = get("current_price")
    return {
        "id": get("id"),
        "listing_id": get("listing_id"),
        "round": get("round"),
        "stage": get("stage"),
        "status": get("status"),
        "currency": get("currency") or "CNY",
        "start_price": fmt(get("start_price")),
        "increment": fmt(get("increment")),
        "deposit": fmt(get("deposit_amount")),
        "current_price": fmt(current),
        "min_next_bid": fmt(min_next_bid(get("start_price"), get("increment"), current)),
        "bid_count": get("bid_count"),
        "leader_code": get("leader_code"),
        "starts_at": iso(get("starts_at")),
        "ends_at": iso(get("ends_at")),
        "reserve_met": reserve_met(get("reserve_price"), current),
        "winner_code": get("winner_code"),
        "extension_window_s": get("extension_window_s"),
        "extension_s": get("extension_s"),
        "allow_proxy": bool(get("allow_proxy")),
    }


def is_open_at(status: str, starts_at: dt.datetime, ends_at: dt.datetime,
               now: dt.datetime) -> bool:
    """Open means starts_at ≤ server time < ends_at (API.md), for a round still live."""
    return status in ("scheduled", "open") and starts_at <= now < ends_at


def check_id(value: int, what: str) -> int:
    """An id that does not exist, however large, is 404 (not an integer overflow)."""
    if not 0 < value <= MAX_ID:
        raise NotFound(what)
    return value
