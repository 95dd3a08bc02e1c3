"""Rounds of a listing's sale: round 1 from the listing's terms, a re-auction at a cut
price, then a fixed-price stage (变卖), and a re-sale after a winner's default.

Source: 最高人民法院网络司法拍卖规定 (法释〔2016〕18号): no valid bid → re-auction within
30 days at a starting price cut by ≤20%; if that fails, a fixed-price sale at that
price for up to 60 days, where the first bid starts a 24-hour countdown.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market import audit, settings_store

from . import announcements
from .models import Auction



def next_round_start(session: Session, after: dt.datetime) -> dt.datetime:
    """A round after a failure or a default is announced at least the re-auction notice
    before it starts (法释〔2016〕18号 art. 26: 15 days for a property right)."""
    return after + dt.timedelta(seconds=settings_store.get(session, "reauction_notice_seconds"))


def reauction_cut(session: Session, listing) -> Decimal:
    """The seller's cut for the next round, never above the operator's maximum (a maximum
    lowered after the listing was made governs)."""
    most = settings_store.get(session, "reauction_max_cut")
    cut = getattr(listing, "reauction_cut", None)
    return most if cut is None else min(Decimal(cut), most)


def create_round(session: Session, *, listing, round_no: int, stage: str, start_price: Decimal,
                 increment: Decimal, deposit: Decimal, starts_at: dt.datetime,
                 ends_at: dt.datetime, now: dt.datetime, reserve_price: Decimal | None = None,
                 stage_deadline: dt.datetime | None = None,
                 reason: str = "listing.published") -> Auction:
    a = Auction(listing_id=listing.id, round=round_no, stage=stage,
                status="open" if starts_at <= now else "scheduled",
                currency=listing.currency or "CNY", start_price=start_price,
                increment=increment, deposit_amount=deposit, reserve_price=reserve_price,
                starts_at=starts_at, ends_at=ends_at, stage_deadline=stage_deadline,
                extension_window_s=listing.extension_window_s
                or settings_store.get(session, "default_extension_window_s"),
                extension_s=listing.extension_s or settings_store.get(session, "default_extension_s"),
                allow_proxy=bool(listing.allow_proxy),
                current_price=None, bid_count=0, created_at=now)
    session.add(a)
    session.flush()
    listing.auction_id = a.id
    announcements.announce(session, listing, a)
    audit.record(session, "auction.created", "auction", a.id,
                 after={"listing_id": listing.id, "round": round_no, "stage": stage,
                        "start_price": start_price, "starts_at": starts_at,
                        "ends_at": ends_at, "reason": reason})
    return a


def first_round(session: Session, listing, now: dt.datetime) -> Auction | None:
    """The round an approval opens (hook listing.published): round 1 from the listing's
    terms; after an unpublish cancelled the live round, a new round from the (edited)
    terms. Idempotent: a live round is returned as it is."""
    if listing.mode != "auction" or listing.start_price is None:
        return None
    live = session.scalar(select(Auction).where(Auction.listing_id == listing.id,
                                                Auction.status.in_(("scheduled", "open"))))
    if live is not None:
        listing.auction_id = live.id
        return live
    return create_round(session, listing=listing, round_no=_next_round_no(session, listing.id),
                        stage="auction", start_price=listing.start_price,
                        increment=listing.increment, deposit=listing.deposit,
                        starts_at=listing.starts_at, ends_at=listing.ends_at, now=now,
                        reserve_price=listing.reserve_price)


def _next_round_no(session: Session, listing_id: int) -> int:
    return (session.scalar(select(func.max(Auction.round))
                           .where(Auction.listing_id == listing_id)) or 0) + 1


def _scaled(amount: Decimal, new_start: Decimal, old_start: Decimal) -> Decimal:
    """Keep the deposit's share of the starting price (5–20%) when the price is cut."""
    return (amount * new_start / old_start).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def reauction(session: Session, listing, failed: Auction, now: dt.datetime,
              notice_from: dt.datetime | None = None) -> Auction:
    """Round after a failed auction-stage round: the start price cut by the listing's
    reauction_cut (≤ reauction_max_cut), stepped down to the increment so bids stay on the
    grid; it starts the re-auction notice after `notice_from` (default now) (法释〔2016〕18号
    art. 26)."""
    cut = reauction_cut(session, listing)
    floor = failed.start_price * (Decimal(1) - cut)
    new_start = failed.start_price
    while new_start - failed.increment >= floor and new_start - failed.increment > 0:
        new_start -= failed.increment
    if new_start == failed.start_price:  # an increment larger than the cut allows
        new_start = floor.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    duration = max(failed.ends_at - failed.starts_at,
                   dt.timedelta(seconds=settings_store.get(session, "min_auction_seconds")))
    starts = next_round_start(session, max(now, notice_from or now))
    return create_round(session, listing=listing, round_no=_next_round_no(session, listing.id),
                        stage="auction", start_price=new_start, increment=failed.increment,
                        deposit=_scaled(failed.deposit_amount, new_start, failed.start_price),
                        starts_at=starts, ends_at=starts + duration, now=now,
                        reserve_price=None, reason="reauction")


def fixed_price_stage(session: Session, listing, failed: Auction, now: dt.datetime) -> Auction:
    """变卖: at the failed re-auction's price, for up to fixed_price_days; the first bid
    starts the fixed_price_countdown_s countdown (see engine), prices only rising."""
    days = settings_store.get(session, "fixed_price_days")
    deadline = now + dt.timedelta(days=days)
    return create_round(session, listing=listing, round_no=_next_round_no(session, listing.id),
                        stage="fixed_price", start_price=failed.start_price,
                        increment=failed.increment, deposit=failed.deposit_amount,
                        starts_at=now, ends_at=deadline, stage_deadline=deadline, now=now,
                        reason="fixed_price")


def resale(session: Session, listing, defaulted: Auction, now: dt.datetime) -> Auction:
    """Re-sale after the winner's default (悔拍): same terms, a fresh round."""
    duration = max(defaulted.ends_at - defaulted.starts_at,
                   dt.timedelta(seconds=settings_store.get(session, "min_auction_seconds")))
    if defaulted.stage == "fixed_price":
        duration = dt.timedelta(days=settings_store.get(session, "fixed_price_days"))
    starts = next_round_start(session, now)
    return create_round(session, listing=listing, round_no=_next_round_no(session, listing.id),
                        stage=defaulted.stage, start_price=defaulted.start_price,
                        increment=defaulted.increment, deposit=defaulted.deposit_amount,
                        starts_at=starts, ends_at=starts + duration, now=now,
                        reserve_price=defaulted.reserve_price,
                        stage_deadline=starts + duration if defaulted.stage == "fixed_price"
                        else None, reason="resale_after_default")

