"""Scheduler sweeps: open due rounds, close due ones (each in its own transaction, claimed
with FOR UPDATE SKIP LOCKED so any number of schedulers close each auction once), release
Stripe deposit holds outside any transaction.

Close (法释〔2016〕18号): the leader at or above the start (and reserve) price wins → the
sale's figures are fixed (settlement.open_sale), the winner's deposit stays held, the
others are released, the listing is sold. No valid bid → failed: a backstop buyer
(托底式收购) buys at its price; else a re-auction at a cut price; after that a fixed-price
stage (变卖); after that the listing has failed.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from market import audit, hooks, settings_store
from market.db import Database
from market.notifications import notify
from market.timeutil import business_date, utcnow

from . import deposits, eligibility, listing_link, rounds
from .models import Auction, AuctionBidder, Deposit

log = logging.getLogger("auctions.closing")


def open_due(db: Database) -> int:
    """Scheduled rounds whose start has come: one conditional UPDATE (idempotent)."""
    now = utcnow()
    with db.transaction() as s:
        res = s.execute(update(Auction).where(Auction.status == "scheduled",
                                              Auction.starts_at <= now,
                                              Auction.ends_at > now)
                        .values(status="open").execution_options(synchronize_session=False))
        return res.rowcount or 0


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
    from flask import current_app

    app = app or current_app._get_current_object()
    failed: set[int] = set()  # a close that raised waits for the next sweep, not blocking others
    if db.is_sqlite:
        return _close_loop(db, app, failed)
    with db.transaction() as s:  # nothing due: no threads
        if _claim(s, utcnow()) is None:
            return 0
    from concurrent.futures import ThreadPoolExecutor

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
    from flask import current_app

    app = app or current_app
    now = utcnow()
    listing = listing_link.get(s, a.listing_id)
    hooks.fire("auction.closing", s, a)  # a point where tests interrupt a close
    sold = (a.leader_bidder_id is not None and a.current_price is not None
            and a.current_price >= a.start_price
            and (a.reserve_price is None or a.current_price >= a.reserve_price))
    deps = list(s.scalars(select(Deposit).where(Deposit.auction_id == a.id,
                                                Deposit.status.in_(deposits.LIVE))))
    if sold:
        winner = s.get(AuctionBidder, a.leader_bidder_id)
        a.status, a.outcome = "closed", "sold"
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
        a.status = "failed"
        a.outcome = "reserve_not_met" if a.current_price is not None else "no_bid"
        for d in deps:
            deposits.release(s, d, now, a.outcome)
            _tell(s, d.user_id, "auction.lost", a, "拍卖流拍 / Auction failed", a.outcome)
        outcome = _after_failure(s, app, a, listing, now)
    a.closed_at = now
    audit.record(s, "auction.closed", "auction", a.id, actor_id=None,
                 after={"status": a.status, "outcome": outcome, "price": a.current_price,
                        "winner_code": a.winner_code, "ends_at": a.ends_at})
    s.flush()
    return outcome


def _tell(s, user_id, kind, a, subject, body=""):
    notify(s, user_id, kind, f"{subject} (#{a.id})", body, link=f"/auctions/{a.id}")


def _tell_org(s, org_id, kind, a, subject, body=""):
    from market.accounts.models import User

    for user_id in s.scalars(select(User.id).where(User.org_id == org_id, User.active.is_(True))):
        _tell(s, user_id, kind, a, subject, body)


def _pledgor(s: Session, listing) -> int | None:
    return listing_link.pledgor_of(s, listing)


def _forfeits(s: Session, listing_id: int) -> list:
    """The listing's forfeited deposits (悔拍), each with the price its defaulter walked
    away from; settlement applies each one once."""
    from market.settlement.forfeits import ForfeitedDeposit

    rows = s.execute(select(Deposit.id, Deposit.org_id, Deposit.amount, Auction.current_price)
                     .join(Auction, Auction.id == Deposit.auction_id)
                     .where(Auction.listing_id == listing_id, Deposit.status == "forfeited"))
    return [ForfeitedDeposit(*row) for row in rows]


def _open_sale(s: Session, app, a: Auction, listing, buyer_user_id, price, deposit_applied,
               buyer_org_id=None):
    from market.settlement.services import open_sale

    tz = app.config.get("MARKET_TIMEZONE", "Asia/Shanghai")
    days = settings_store.get(s, "balance_due_days")
    return open_sale(s, listing_id=listing.id, sale_ref=f"auction:{a.id}",
                     loan_id=listing.loan_id, seller_org_id=listing.seller_org_id,
                     pledgor_org_id=_pledgor(s, listing),
                     buyer_user_id=buyer_user_id, buyer_org_id=buyer_org_id, price=price,
                     deposit_applied=deposit_applied,
                     disposal_costs=listing_link.disposal_costs(s, listing.id),
                     as_of=business_date(a.ends_at, tz),
                     balance_due_by=a.ends_at + dt.timedelta(days=days),
                     forfeits=_forfeits(s, listing.id))


def forfeits_to_debt(s: Session, app, listing, at: dt.datetime) -> None:
    """No re-sale will come (the last stage failed, or the seller withdrew the listing):
    forfeited deposits go straight to the debt (法释〔2016〕18号), dated `at`'s business day."""
    from market.settlement import forfeits

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


def _deposit_sweep(db: Database, app, what: str, query, call, record) -> int:
    """The shape of every Stripe deposit sweep: collect up to 50 deposits in one short
    transaction, call Stripe for each outside any transaction (no network call may hold a
    row lock), then record each result in its own transaction with the row locked.

    `call(gateway, deposit_id, provider_ref)` returns the gateway's answer (an exception
    leaves the deposit to the next sweep); `record(session, deposit, provider_ref, answer)`
    returns True when it changed the row."""
    from flask import current_app

    app = app or current_app
    with db.transaction() as s:
        todo = [(d.id, d.provider_ref) for d in s.scalars(query.limit(50))]
    if not todo:
        return 0
    from market.payments.gateway import gateway_for

    gw = gateway_for("stripe", app.config)
    done = 0
    for dep_id, ref in todo:
        try:
            answer = call(gw, dep_id, ref)
        except Exception:  # noqa: BLE001 - retried on the next sweep
            log.exception("stripe %s of deposit %s failed", what, dep_id)
            continue
        with db.transaction() as s:
            d = s.get(Deposit, dep_id, with_for_update=True)
            if d is not None and record(s, d, ref, answer):
                done += 1
    return done


def _stripe_configured(app) -> bool:
    from flask import current_app

    return bool((app or current_app).config.get("STRIPE_SECRET_KEY"))


def release_stripe_holds(db: Database, app=None) -> int:
    """Cancel the Stripe holds of released deposits (24-hour rule), outside transactions.

    The gateway call is idempotent by key, so two schedulers racing do no harm."""
    def call(gw, dep_id, ref):
        if ref:
            gw.cancel(ref, idempotency_key=f"deposit-release-{dep_id}")

    def record(s, d, ref, answer):
        if d.released_at is not None:
            return False
        d.released_at = utcnow()
        return True

    return _deposit_sweep(
        db, app, "release",
        select(Deposit).where(Deposit.status == "released", Deposit.method == "stripe",
                              Deposit.released_at.is_(None)), call, record)


def sync_stripe_deposits(db: Database, app=None) -> int:
    """Pending card deposits whose hold was authorised in the browser (a webhook may be
    late or lost): re-read them from Stripe, outside transactions, and qualify the bidder."""
    if not _stripe_configured(app):
        return 0

    def record(s, d, ref, res):
        if res.status != "held" or d.status != "pending":
            return False
        deposits.mark_held(s, d, actor_id=None)
        return True

    return _deposit_sweep(
        db, app, "retrieve",
        select(Deposit).where(Deposit.status == "pending", Deposit.method == "stripe",
                              Deposit.provider_ref.is_not(None)),
        lambda gw, dep_id, ref: gw.retrieve(ref), record)


CAPTURED_NOTE = "gateway: captured"


def capture_forfeited_holds(db: Database, app=None) -> int:
    """A defaulting winner's card deposit is forfeited (悔拍): take the held money, outside
    transactions, then note it on the row so the sweep does it once."""
    if not _stripe_configured(app):
        return 0

    def record(s, d, ref, res):
        if res.status != "paid" or d.note == CAPTURED_NOTE:
            return False
        d.note = CAPTURED_NOTE
        audit.record(s, "deposit.captured", "deposit", d.id, actor_id=None,
                     after={"provider_ref": ref})
        return True

    return _deposit_sweep(
        db, app, "capture",
        select(Deposit).where(Deposit.status == "forfeited", Deposit.method == "stripe",
                              Deposit.provider_ref.is_not(None),
                              (Deposit.note.is_(None)) | (Deposit.note != CAPTURED_NOTE)),
        lambda gw, dep_id, ref: gw.capture(ref, amount=None,
                                           idempotency_key=f"deposit-forfeit-{dep_id}"),
        record)
