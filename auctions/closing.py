"""Scheduler sweeps: open due rounds, close due ones (each in its own transaction, claimed
with FOR UPDATE SKIP LOCKED so any number of schedulers close each auction once). The
Stripe deposit sweeps are the core's (market/payments/deposits.py).

Close (法释〔2016〕18号): the leader at or above the start (and reserve) price wins → the
sale's figures are fixed (settlement.open_sale), the winner's deposit stays held, the
others are released, the listing is sold. No valid bid → failed: a backstop buyer
(托底式收购) buys at its price; else a re-auction at a cut price; after that a fixed-price
stage (变卖); after that the listing has failed.
"""
from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from market import hooks, lifecycle, settings_store
from market.accounts.models import User
from market.db import Database
from market.notifications import notify
from market.payments import deposits as payments_deposits
from market.payments.models import Deposit
from market.settlement import forfeits, sale
from market.settlement.forfeits import ForfeitedDeposit
from market.timeutil import business_date, utcnow

from . import deposits, eligibility, listing_link, rounds
from .models import Auction, AuctionBidder

log = logging.getLogger("auctions.closing")


def open_due(db: Database) -> int:
    """Scheduled rounds whose start has come, each moved once (a round another scheduler
    is opening is skipped, and its conditional UPDATE would lose anyway)."""
    now = utcnow()
    with db.transaction() as s:
        s.info["actor_id"] = None
        due = s.scalars(select(Auction).where(Auction.status == "scheduled",
                                              Auction.starts_at <= now,
                                              Auction.ends_at > now)
                        .with_for_update(skip_locked=True))
        return sum(lifecycle.try_move(s, a, "open") for a in list(due))


def _claim(s: Session, now: dt.datetime, skip: set[int] | frozenset = frozenset()) -> Auction | None:
    stmt = (select(Auction).where(Auction.status.in_(("open", "scheduled")),
                                  Auction.ends_at <= now)
            .order_by(Auction.ends_at, Auction.id).limit(1)
            .with_for_update(skip_locked=True))
    if skip:
        stmt = stmt.where(Auction.id.not_in(skip))
    return s.scalars(stmt).first()


CLOSE_THREADS = 4  # PostgreSQL: a close waits on round trips, so a few claim in parallel


def close_due(db: Database, app=None) -> int:
    """Close every due auction, one transaction each, until none is left. On PostgreSQL a
    few threads sweep side by side (SKIP LOCKED hands each its own auction)."""
    app = app or current_app._get_current_object()
    failed: set[int] = set()  # a close that raised waits for the next sweep, not blocking others
    if db.is_sqlite:
        return _close_loop(db, app, failed)
    with db.transaction() as s:  # nothing due: no threads
        if _claim(s, utcnow()) is None:
            return 0

    def worker():
        with app.app_context():
            return _close_loop(db, app, failed)

    with ThreadPoolExecutor(CLOSE_THREADS) as pool:
        return sum(pool.map(lambda _i: worker(), range(CLOSE_THREADS)))


def _close_loop(db: Database, app, failed: set[int]) -> int:
    done = 0
    while True:
        claimed = None
        try:
            with db.transaction() as s:
                s.info["actor_id"] = None
                a = _claim(s, utcnow(), frozenset(failed))
                if a is None:
                    return done
                claimed = a.id
                close_auction(s, a, app)
        except Exception:  # rolled back whole: still open, the next sweep retries it
            if claimed is None:
                raise
            log.exception("closing auction %s failed", claimed)
            failed.add(claimed)
            continue
        done += 1


def close_auction(s: Session, a: Auction, app=None) -> str:
    """Close one claimed (locked) auction; returns its outcome."""
    app = app or current_app
    now = utcnow()
    listing = listing_link.get(s, a.listing_id)
    hooks.fire("auction.closing", s, a)  # a point where tests interrupt a close
    sold = (a.leader_bidder_id is not None and a.current_price is not None
            and a.current_price >= a.start_price
            and (a.reserve_price is None or a.current_price >= a.reserve_price))
    deps = list(s.scalars(select(Deposit).where(Deposit.auction_id == a.id,
                                                Deposit.status.in_(payments_deposits.LIVE))))
    if sold:
        winner = s.get(AuctionBidder, a.leader_bidder_id)
        to_status = "closed"
        a.outcome = "sold"
        a.winner_bidder_id, a.winner_code, a.winner_user_id = winner.id, winner.code, winner.user_id
        win_dep = next((d for d in deps if d.user_id == winner.user_id and d.status == "held"), None)
        for d in deps:
            if d is not win_dep:
                deposits.release(s, d, now, "lost")
                _tell(s, d.user_id, "auction.lost", a, "未成交 / Auction lost",
                      f"成交价 / Hammer price: {a.current_price}")
        _open_sale(s, app, a, listing, winner.user_id, a.current_price,
                   win_dep.amount if win_dep else 0)
        listing_link.transition(s, listing, "sold", reason=f"auction {a.id} won by {a.winner_code}")
        _tell(s, winner.user_id, "auction.won", a, "恭喜竞得 / You won the auction",
              f"成交价 / Hammer price: {a.current_price}; 请按期支付余款 / pay the balance by the deadline")
        outcome = "sold"
    else:
        to_status = "failed"
        a.outcome = "reserve_not_met" if a.current_price is not None else "no_bid"
        for d in deps:
            deposits.release(s, d, now, a.outcome)
            _tell(s, d.user_id, "auction.lost", a, "拍卖流拍 / Auction failed", a.outcome)
        outcome = _after_failure(s, app, a, listing, now)
    # The claimed row is locked: the move cannot lose a race, only be refused.
    lifecycle.move(s, a, to_status, action="auction.closed", closed_at=now,
                   after={"status": to_status, "outcome": outcome, "price": a.current_price,
                          "winner_code": a.winner_code, "ends_at": a.ends_at})
    return outcome


def _tell(s, user_id, kind, a, subject, body=""):
    notify(s, user_id, kind, f"{subject} (#{a.id})", body, link=f"/auctions/{a.id}")


def _tell_org(s, org_id, kind, a, subject, body=""):
    for user_id in s.scalars(select(User.id).where(User.org_id == org_id, User.active.is_(True))):
        _tell(s, user_id, kind, a, subject, body)


def _pledgor(s: Session, listing) -> int | None:
    return listing_link.pledgor_of(s, listing)


def _forfeits(s: Session, listing_id: int) -> list:
    """The listing's forfeited deposits (悔拍), each with the price its defaulter walked
    away from; settlement applies each one once."""
    rows = s.execute(select(Deposit.id, Deposit.org_id, Deposit.amount, Auction.current_price)
                     .outerjoin(Auction, Auction.id == Deposit.auction_id)
                     .where(Deposit.listing_id == listing_id,
                            Deposit.status.in_(("forfeited", "captured"))))
    return [ForfeitedDeposit(*row) for row in rows]


def _open_sale(s: Session, app, a: Auction, listing, buyer_user_id, price, deposit_applied,
               buyer_org_id=None):
    """The close as a Sale (market/settlement/sale.py): a won auction or, with no buyer
    user, the backstop organisation's purchase."""
    tz = app.config.get("MARKET_TIMEZONE", "Asia/Shanghai")
    days = settings_store.get(s, "balance_due_days")
    return sale.open_sale(s, sale.Sale(
        mode="auction", source_id=a.id, listing_id=listing.id, loan_id=listing.loan_id,
        seller_org_id=listing.seller_org_id, pledgor_org_id=_pledgor(s, listing),
        buyer_user_id=buyer_user_id, buyer_org_id=buyer_org_id, price=price, deposit_applied=deposit_applied,
        asset_ids=tuple(listing_link.asset_ids(s, listing.id)),
        disposal_costs=listing_link.disposal_costs(s, listing.id),
        as_of=business_date(a.ends_at, tz), balance_due_by=a.ends_at + dt.timedelta(days=days),
        currency=a.currency, forfeits=tuple(_forfeits(s, listing.id))))


def forfeits_to_debt(s: Session, app, listing, at: dt.datetime) -> None:
    """No re-sale will come (the last stage failed, or the seller withdrew the listing):
    forfeited deposits go straight to the debt (法释〔2016〕18号), dated `at`'s business day."""
    tz = app.config.get("MARKET_TIMEZONE", "Asia/Shanghai")
    forfeits.apply(s, _forfeits(s, listing.id), listing_id=listing.id, loan_id=listing.loan_id,
                   seller_org_id=listing.seller_org_id, pledgor_org_id=_pledgor(s, listing),
                   as_of=business_date(at, tz))


def backstop_buys(s: Session, a: Auction, listing) -> bool:
    """API.md "Backstop purchase": an accepted backstop buys when a round closes with no bid
    at all (a round that missed only the reserve goes on), unless the fund defaulted
    before and is barred like any defaulting buyer."""
    return (a.outcome == "no_bid" and listing.backstop_org_id is not None
            and listing.backstop_price is not None and listing.backstop_accepted_at is not None
            and not eligibility.is_barred(s, listing.id, listing.backstop_accepted_by or 0,
                                          listing.backstop_org_id))


def _after_failure(s: Session, app, a: Auction, listing, now: dt.datetime,
                   notice_from: dt.datetime | None = None) -> str:
    if listing.mode == "transfer":  # a listed transfer's auction: no re-auction, unsold
        listing_link.transition(s, listing, "unsold", reason=f"no valid bid in auction {a.id}")
        return "unsold"
    if backstop_buys(s, a, listing):
        a.outcome = "backstop"
        _open_sale(s, app, a, listing, None, listing.backstop_price, 0,
                   buyer_org_id=listing.backstop_org_id)
        listing_link.transition(s, listing, "sold",
                                reason=f"backstop purchase by org {listing.backstop_org_id}")
        _tell_org(s, listing.backstop_org_id, "auction.backstop", a,
                  "托底收购成交 / Backstop purchase due",
                  f"价款 / Price: {listing.backstop_price}; 请按期支付 / pay by the deadline")
        return "backstop"
    if a.stage == "fixed_price":
        forfeits_to_debt(s, app, listing, a.ends_at)
        listing_link.transition(s, listing, "failed", reason="fixed-price stage found no buyer")
        return "failed"
    prev = s.scalar(select(Auction).where(Auction.listing_id == a.listing_id,
                                          Auction.round == a.round - 1))
    if prev is not None and prev.stage == "auction" and prev.status == "failed":
        nxt = rounds.fixed_price_stage(s, listing, a, now)
        return f"fixed_price:{nxt.id}"
    nxt = rounds.reauction(s, listing, a, now, notice_from)
    return f"reauction:{nxt.id}"


def after_backstop_default(s: Session, app, a: Auction, listing, deadline: dt.datetime) -> str:
    """The fund did not pay by balance_due_by: the listing goes to the next round as after
    any failed round, its notice running from that deadline (API.md)."""
    return _after_failure(s, app, a, listing, utcnow(), notice_from=deadline)
