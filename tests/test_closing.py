"""Closing (法释〔2016〕18号): one bidder at/above the start (and reserve) price wins; the
losers' deposits are released; the sale's figures are fixed at the close (API.md
"Payment of the price and settlement"); a close happens once, whatever crashes."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from auctions.models import Auction, BarredBidder
from listings.models import Listing
from market import hooks
from market.audit import AuditRecord
from market.db import database
from market.notifications import Notification
from market.payments.models import Deposit
from market.settlement.models import JournalEntry, Settlement
from market.timeutil import business_date, utcnow
from tests.auction_helpers import bid, make_auction, move_times, qualify, run_scheduler

D = Decimal


def _sold_auction(app, db, actors, **kw):
    op = actors.api("operator")
    seller = actors.api("bank")
    a1, a2 = actors.api("investor"), actors.api("investor")
    lid, aid = make_auction(db, seller.user, **kw)
    d1, d2 = qualify(a1, op, aid), qualify(a2, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201
    r = bid(a2, aid, "105000.00")
    assert r.status_code == 201
    move_times(app, aid, ends_in=-1)
    return dict(op=op, seller=seller, a1=a1, a2=a2, lid=lid, aid=aid, d1=d1, d2=d2,
                code2=r.get_json()["bid"]["bidder_code"])


def test_close_with_a_winner_opens_the_sale_and_releases_losers(app, db, actors, client):
    """法释〔2016〕18号: the leader wins; losers' deposits released at the close (24 h rule);
    the winner's deposit stays held and counts toward the price; as_of = business date of
    the final ends_at (API.md)."""
    w = _sold_auction(app, db, actors)
    assert run_scheduler(app) >= 1
    body = client.get(f"/api/v1/auctions/{w['aid']}").get_json()
    assert body["status"] == "closed" and body["winner_code"] == w["code2"]
    db.rollback()
    a = db.get(Auction, w["aid"])
    st = db.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{w['aid']}"))
    assert st.price == D("105000.00") and st.deposit_applied == D("10000.00")
    assert st.buyer_user_id == w["a2"].user["id"]
    assert st.as_of == business_date(a.ends_at, app.config["MARKET_TIMEZONE"])
    assert db.get(Deposit, w["d1"]).status == "released"
    assert db.get(Deposit, w["d1"]).release_due_at <= a.closed_at + dt.timedelta(hours=24)
    assert db.get(Deposit, w["d2"]).status == "held"
    assert db.scalar(select(JournalEntry.kind).where(
        JournalEntry.kind == "deposit.released", JournalEntry.ref_id == w["d1"]))
    assert db.get(Listing, w["lid"]).status == "sold"
    kinds = {(n.user_id, n.kind) for n in db.scalars(select(Notification))}
    assert (w["a2"].user["id"], "auction.won") in kinds
    assert (w["a1"].user["id"], "auction.lost") in kinds
    assert (w["a1"].user["id"], "deposit.released") in kinds
    assert bid(w["a1"], w["aid"], "110000.00").get_json()["error"]["code"] == "auction_not_open"


def test_open_due_scheduled_rounds(app, db, actors, client):
    """A scheduled round opens when its start comes (the scheduler sweep)."""
    _lid, aid = make_auction(db, actors.user("bank"), starts_in=3600)
    assert client.get(f"/api/v1/auctions/{aid}").get_json()["status"] == "scheduled"
    move_times(app, aid, starts_in=-1)
    run_scheduler(app)
    assert client.get(f"/api/v1/auctions/{aid}").get_json()["status"] == "open"


def test_reserve_not_met_fails_and_schedules_a_cut_round(app, db, actors, client):
    """法释〔2016〕18号: no valid bid → re-auction within 30 days, start price cut by ≤20%."""
    w = _sold_auction(app, db, actors, reserve_price="200000.00")
    run_scheduler(app)
    body = client.get(f"/api/v1/auctions/{w['aid']}").get_json()
    assert body["status"] == "failed" and body["winner_code"] is None
    db.rollback()
    listing = db.get(Listing, w["lid"])
    assert listing.status == "published" and listing.auction_id != w["aid"]
    r2 = db.get(Auction, listing.auction_id)
    assert r2.round == 2 and r2.stage == "auction" and r2.status == "scheduled"
    assert D("80000.00") <= r2.start_price < D("100000.00")
    assert (r2.start_price - D("100000.00")) % D("1000.00") == 0
    assert r2.starts_at <= utcnow() + dt.timedelta(days=30)
    assert D("0.05") * r2.start_price <= r2.deposit_amount <= D("0.20") * r2.start_price
    assert {d.status for d in db.scalars(select(Deposit))} == {"released"}
    assert db.scalar(select(Settlement.id)) is None


def test_second_failure_goes_to_fixed_price_stage_then_listing_fails(app, db, actors, client):
    """法释〔2016〕18号: re-auction fails too → 变卖 at that price for up to 60 days, the first
    bid starts a 24-hour countdown, prices only rising; no buyer → the listing fails."""
    lid, aid = make_auction(db, actors.user("bank"))
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    db.rollback()
    r2 = db.get(Listing, lid).auction_id
    move_times(app, r2, starts_in=-10, ends_in=-1)
    run_scheduler(app)
    db.rollback()
    listing = db.get(Listing, lid)
    r3 = db.get(Auction, listing.auction_id)
    r2row = db.get(Auction, r2)
    assert r3.stage == "fixed_price" and r3.round == 3 and r3.status == "open"
    assert r3.start_price == r2row.start_price
    assert r3.ends_at - r3.starts_at == dt.timedelta(days=60)
    # the first bid starts the 24-hour countdown
    op, inv, inv2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    qualify(inv, op, r3.id)
    qualify(inv2, op, r3.id)
    r = bid(inv, r3.id, f"{r3.start_price:.2f}").get_json()
    placed = dt.datetime.fromisoformat(r["bid"]["placed_at"])
    assert dt.datetime.fromisoformat(r["auction"]["ends_at"]) == placed + dt.timedelta(hours=24)
    assert bid(inv2, r3.id, f"{r3.start_price:.2f}").get_json()["error"]["code"] == "bid_too_low"
    # a fixed-price stage with no buyer: the listing has failed
    lid2, aid2 = make_auction(db, actors.user("bank"))
    for _ in range(3):
        db.rollback()
        cur = db.get(Listing, lid2).auction_id
        move_times(app, cur, starts_in=-10, ends_in=-1)
        run_scheduler(app)
    db.rollback()
    assert db.get(Listing, lid2).status == "failed"
    assert db.scalar(select(func.count()).select_from(Auction).where(
        Auction.listing_id == lid2)) == 3


def test_backstop_buys_when_the_sale_fails(app, db, actors):
    """DOMAIN.md 托底式收购: a fund committed in advance buys at its floor if the sale fails."""
    fund = actors.user("investor", org_kind="fund")
    lid, aid = make_auction(db, actors.user("bank"),
                            backstop=(fund["org_id"], "75000.00", fund["id"]))
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    db.rollback()
    st = db.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{aid}"))
    assert st.price == D("75000.00") and st.deposit_applied == 0
    assert st.buyer_org_id == fund["org_id"]  # API.md "Backstop purchase": the fund buys
    assert db.get(Listing, lid).status == "sold"
    assert db.get(Auction, aid).outcome == "backstop"


def test_winner_default_forfeits_bars_and_schedules_a_new_round(app, db, actors):
    """法释〔2016〕18号 (悔拍): the deposit is forfeited, the defaulter may not bid in the
    re-sale, and a new round is scheduled."""
    from market.settlement import services as settlement

    w = _sold_auction(app, db, actors)
    run_scheduler(app)
    with app.app_context(), database(app).transaction() as s:
        st = s.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{w['aid']}"))
        assert settlement.mark_defaulted(s, st.id)
    db.rollback()
    assert db.get(Deposit, w["d2"]).status == "forfeited"
    assert db.scalar(select(JournalEntry.kind).where(
        JournalEntry.kind == "deposit.forfeited", JournalEntry.ref_id == w["d2"]))
    assert db.scalar(select(BarredBidder.user_id)) == w["a2"].user["id"]
    listing = db.get(Listing, w["lid"])
    assert listing.status == "published" and listing.auction_id != w["aid"]
    nxt = db.get(Auction, listing.auction_id)
    assert nxt.start_price == D("100000.00") and nxt.status == "scheduled"
    r = w["a2"].post(f"/api/v1/auctions/{nxt.id}/deposits", json={"method": "offline"})
    assert r.get_json()["error"]["code"] == "bidder_barred"
    assert w["a1"].post(f"/api/v1/auctions/{nxt.id}/deposits",
                        json={"method": "offline"}).status_code == 201


def test_settled_sale_settles_the_listing_and_applies_the_deposit(app, db, actors):
    """API.md: paying settles the sale; the listing becomes settled."""
    from market.settlement import services as settlement

    w = _sold_auction(app, db, actors)
    run_scheduler(app)
    with app.app_context(), database(app).transaction() as s:
        st = s.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{w['aid']}"))
        assert settlement.settle(s, st.id, paid_at=utcnow())
    db.rollback()
    assert db.get(Listing, w["lid"]).status == "settled"
    assert db.get(Deposit, w["d2"]).status == "applied"


def test_withdraw_refused_with_bids_and_closing_cancels_rounds(app, db, actors):
    """API.md: withdraw only before any bid (409 listing_has_bids); a closed listing's live
    rounds are cancelled and their deposits released."""
    op, seller, inv = actors.api("operator"), actors.api("bank"), actors.api("investor")
    lid, aid = make_auction(db, seller.user)
    dep = qualify(inv, op, aid)
    r = seller.post(f"/api/v1/listings/{lid}/withdraw", json={})
    assert r.status_code == 200, r.get_json()
    db.rollback()
    assert db.get(Auction, aid).status == "cancelled"
    assert db.get(Deposit, dep).status == "released"
    lid2, aid2 = make_auction(db, seller.user)
    qualify(inv, op, aid2)
    bid(inv, aid2, "100000.00")
    r = seller.post(f"/api/v1/listings/{lid2}/withdraw", json={})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "listing_has_bids")


def test_interrupted_close_is_closed_by_the_next_sweep(app, db, actors):
    """A close that fails after its claim rolls back whole; the next sweep closes it once."""
    w = _sold_auction(app, db, actors)

    def crash(session, auction):
        raise RuntimeError("scheduler killed mid-close")

    with hooks.registered("auction.closing", crash):
        run_scheduler(app)
    db.rollback()
    assert db.get(Auction, w["aid"]).status == "open"
    assert db.scalar(select(Settlement.id)) is None
    assert {d.status for d in db.scalars(select(Deposit))} == {"held"}
    run_scheduler(app)
    db.rollback()
    assert db.get(Auction, w["aid"]).status == "closed"
    assert db.scalar(select(func.count()).select_from(Settlement)) == 1
    assert db.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "auction.closed")) == 1


def test_a_failing_close_does_not_block_the_others(app, db, actors):
    """One auction whose close keeps failing waits for the next sweep; the rest close."""
    bad_lid, bad = make_auction(db, actors.user("bank"))
    _lid, good = make_auction(db, actors.user("bank"))
    move_times(app, bad, ends_in=-5)
    move_times(app, good, ends_in=-1)

    def crash(session, auction):
        if auction.id == bad:
            raise RuntimeError("this one is broken")

    with hooks.registered("auction.closing", crash):
        run_scheduler(app)
    db.rollback()
    assert db.get(Auction, bad).status == "open"
    assert db.get(Auction, good).status == "failed"


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only")
def test_three_concurrent_schedulers_close_each_auction_once(app, app_config, db, actors):
    """ARCHITECTURE.md: any number of schedulers; each auction closed once (SKIP LOCKED)."""
    op = actors.api("operator")
    invs = [actors.api("investor") for _ in range(2)]
    ids = []
    for i in range(12):
        _lid, aid = make_auction(db, actors.user("bank"))
        for inv in invs:
            qualify(inv, op, aid)
        bid(invs[0], aid, "100000.00")
        bid(invs[1], aid, "101000.00")
        ids.append(aid)
    for aid in ids:
        move_times(app, aid, ends_in=-1)
    env = {**os.environ, "DATABASE_URL": app_config["DATABASE_URL"], "FLASK_APP": "wsgi"}
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler",
                               "run-once"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    db.rollback()
    assert {db.get(Auction, a).status for a in ids} == {"closed"}
    assert db.scalar(select(func.count()).select_from(Settlement)) == 12
    closes = db.scalars(select(AuditRecord.object_id).where(
        AuditRecord.action == "auction.closed")).all()
    assert sorted(closes) == sorted(ids)
    released = db.scalars(select(JournalEntry.kind).where(
        JournalEntry.kind == "deposit.released")).all()
    assert len(released) == 12
