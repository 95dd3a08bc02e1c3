"""Notice before an auction starts (法释〔2016〕18号 art. 12: 30 days for a property right,
the exchange's policy; never under 7 days, 拍卖法 art. 45).

API.md Listings: with N = min_notice_seconds and t the approval time, a round whose
starts_at < t + N moves to starts_at' = t + N and ends_at' = ends_at + (starts_at' −
starts_at); the original stays as requested_starts_at and the seller is told.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from market import audit, settings_store
from market.notifications import notify

from .models import Listing


def apply_notice(session: Session, listing: Listing, now: dt.datetime) -> bool:
    """Move a too-early auction to the end of the notice period; True if it moved."""
    if listing.mode != "auction" or listing.starts_at is None:
        return False
    n = dt.timedelta(seconds=settings_store.get(session, "min_notice_seconds"))
    earliest = now + n
    if n.total_seconds() <= 0 or listing.starts_at >= earliest:
        return False
    shift = earliest - listing.starts_at
    before = {"starts_at": listing.starts_at, "ends_at": listing.ends_at}
    if listing.requested_starts_at is None:  # a second approval keeps the seller's own time
        listing.requested_starts_at = listing.starts_at
    listing.starts_at, listing.ends_at = earliest, listing.ends_at + shift
    audit.record(session, "listing.notice_moved", "listing", listing.id,
                 actor_id=session.info.get("actor_id"), before=before,
                 after={"starts_at": listing.starts_at, "ends_at": listing.ends_at,
                        "notice_seconds": int(n.total_seconds())})
    return True


def tell_seller(session: Session, listing: Listing) -> None:
    notify(session, listing.created_by, "listing.notice_moved",
           f"拍卖时间已顺延 / Auction moved to honour the notice period (#{listing.id})"[:200],
           f"开始 / starts {listing.starts_at.isoformat()}; 结束 / ends "
           f"{listing.ends_at.isoformat()}; 原定 / requested {listing.requested_starts_at.isoformat()}",
           link=f"/listings/{listing.id}")
