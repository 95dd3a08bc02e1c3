"""Notice periods (API.md Listings and CLI settings; DOMAIN.md "Auction rules"):
法释〔2016〕18号 art. 12 — an auction is announced 30 days before it starts (the exchange's
policy, MARKET_MIN_NOTICE_SECONDS, never under 7 days: 拍卖法 art. 45); art. 26 — a
re-auction 15 days after the failure (MARKET_REAUCTION_NOTICE_SECONDS), at a start price
cut by the listing's reauction_cut (≤ the operator's maximum, 20%). The parties and the
registered priority holders are told when a round is announced."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from auctions.models import Auction
from listings.models import Listing
from market import settings_store
from market.accounts.models import Org
from market.db import database
from market.notifications import Notification
from market.timeutil import utcnow
from tests.auction_helpers import move_times
from tests.contract_helpers import API, World, expect, instant

NOTICE = 2592000
REAUCTION = 1296000


@pytest.fixture
def app_config(app_config):
    # The real defaults of API.md (conftest sets both short for the other tests).
    cfg = dict(app_config)
    cfg.pop("MARKET_MIN_NOTICE_SECONDS")
    cfg.pop("MARKET_REAUCTION_NOTICE_SECONDS")
    return cfg


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _submitted(world, **terms):
    a, ln = world.collateral()
    lst = world.listing(world.bank, world.listing_body([a["id"]], ln["id"], **terms))
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 200)
    return lst, a


def test_defaults_are_the_documented_ones(app, db):
    """API.md: MARKET_MIN_NOTICE_SECONDS 2592000, MARKET_REAUCTION_NOTICE_SECONDS 1296000."""
    with app.app_context():
        assert settings_store.get(db, "min_notice_seconds") == NOTICE
        assert settings_store.get(db, "reauction_notice_seconds") == REAUCTION
        assert settings_store.get(db, "reauction_max_cut") == Decimal("0.20")


def test_approval_moves_a_too_early_round_and_tells_the_seller(world, db):
    """API.md Listings: starts_at < t + N → starts_at' = t + N, ends_at' = ends_at +
    (starts_at' − starts_at); requested_starts_at keeps the original; the seller is told."""
    lst, _ = _submitted(world, starts_in=3600, lasts=2 * 86400)
    requested = instant(lst["auction"]["starts_at"])
    length = instant(lst["auction"]["ends_at"]) - requested
    t0 = utcnow()
    got = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    t1 = utcnow()
    starts, ends = instant(got["auction"]["starts_at"]), instant(got["auction"]["ends_at"])
    notice = dt.timedelta(seconds=NOTICE)
    assert t0 + notice - dt.timedelta(seconds=1) <= starts <= t1 + notice
    assert ends - starts == length
    assert instant(got["auction"]["requested_starts_at"]) == requested
    auc = world.auction(got["auction_id"])
    assert auc["status"] == "scheduled" and instant(auc["starts_at"]) == starts
    db.rollback()
    told = db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == world.bank.user["id"],
        Notification.kind == "listing.notice_moved"))
    assert told == 1


def test_a_round_far_enough_ahead_does_not_move(world):
    lst, _ = _submitted(world, starts_in=NOTICE + 3600, lasts=2 * 86400)
    got = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    assert got["auction"]["starts_at"] == lst["auction"]["starts_at"]
    assert got["auction"]["requested_starts_at"] is None


def test_the_rules_are_checked_against_the_moved_times(world, db):
    """API.md: an appraisal valid at the requested start but not at the moved one refuses
    the approval (422 no_valid_valuation) and nothing moves."""
    a = world.asset()
    today = dt.date.today()
    world.value(a["id"], valued_on=today - dt.timedelta(days=10),
                valid_until=(today + dt.timedelta(days=10)).isoformat())
    ln = world.loan([a["id"]])
    world.default(ln["id"])
    lst = world.listing(world.bank, world.listing_body([a["id"]], ln["id"], starts_in=3600))
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 200)
    expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 422, "no_valid_valuation")
    db.rollback()
    row = db.get(Listing, lst["id"])
    assert row.status == "pending_review" and row.requested_starts_at is None
    assert row.starts_at == instant(lst["auction"]["starts_at"])


def test_an_operator_may_lower_the_notice_but_not_under_seven_days(world, app, db):
    """API.md: operators may lower MARKET_MIN_NOTICE_SECONDS, never below 7 days (拍卖法 45)."""
    with app.app_context(), database(app).transaction() as s:
        with pytest.raises(Exception) as refused:
            settings_store.put(s, "min_notice_seconds", "604799", actor_id=None)
        assert refused.value.code == "setting_out_of_bounds"
        assert "拍卖法" in refused.value.message and "7 days" in refused.value.message
        settings_store.put(s, "min_notice_seconds", "604800", actor_id=None)
    lst, _ = _submitted(world, starts_in=3600)
    t0 = utcnow()
    got = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    starts = instant(got["auction"]["starts_at"])
    week = dt.timedelta(days=7)
    assert t0 + week - dt.timedelta(seconds=1) <= starts <= utcnow() + week


def test_a_failed_round_is_followed_after_the_notice_at_the_sellers_cut(world, db):
    """法释〔2016〕18号 art. 26: the re-auction starts no earlier than 15 days after the
    failure, at the start price cut by the listing's reauction_cut; the parties and the
    registered priority holders are told of each round."""
    lst, _ = _submitted(world, starts_in=NOTICE + 60, reauction_cut="0.05")
    holder = world.investor2
    expect(world.operator.post(f"{API}/listings/{lst['id']}/priority-holders",
                               json={"org_id": holder.user["org_id"], "rank": 1,
                                     "basis": "co-owner"}), 201)
    got = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    aid = got["auction_id"]
    move_times(world.app, aid, starts_in=-10, ends_in=-1)
    t0 = utcnow()
    world.run_once()
    nxt = world.auction(expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)["auction_id"])
    assert nxt["round"] == 2 and nxt["start_price"] == "670000.00"  # ≤5% below 700,000, on the 10,000 grid
    assert instant(nxt["starts_at"]) >= t0 + dt.timedelta(seconds=REAUCTION)
    db.rollback()
    told = lambda uid: db.scalar(select(func.count()).select_from(Notification).where(  # noqa: E731
        Notification.user_id == uid, Notification.kind == "auction.announced"))
    pledgor = world.owner.user["id"]
    assert told(world.bank.user["id"]) == 2 and told(pledgor) == 2 and told(holder.user["id"]) == 2
    assert told(world.investor.user["id"]) == 0


def test_the_cut_may_not_exceed_the_operators_maximum(world):
    """API.md: reauction_cut above the operator's maximum → 422 reauction_cut_too_large."""
    a, ln = world.collateral()
    body = world.listing_body([a["id"]], ln["id"], reauction_cut="0.21")
    expect(world.bank.post(f"{API}/listings", json=body), 422, "reauction_cut_too_large")
    body = world.listing_body([a["id"]], ln["id"])
    got = world.listing(world.bank, body)
    assert got["auction"]["reauction_cut"] == "0.20"  # the default is the maximum


def test_the_demo_seeds_an_announced_auction_and_a_short_one(app, runner, db):
    """The demo, with the real notice: one auction announced today waits out its 30 days;
    the running ones were announced a notice period ago, and one closes within minutes."""
    res = runner.invoke(args=["demo", "seed"])
    assert res.exit_code == 0, res.output
    db.rollback()
    now = utcnow()
    rounds = list(db.scalars(select(Auction)))
    waiting = [a for a in rounds if a.status == "scheduled"
               and a.starts_at >= now + dt.timedelta(seconds=NOTICE - 600)]
    assert len(waiting) == 1
    assert db.scalar(select(Listing.requested_starts_at)
                     .where(Listing.id == waiting[0].listing_id)) is not None
    assert any(a.status == "open" and a.ends_at <= now + dt.timedelta(minutes=11)
               for a in rounds)
