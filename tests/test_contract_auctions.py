"""Contract (API.md "Auctions"), black box: fields, deposits, bid checks in order, soft
close, bid log, closing by `flask scheduler run-once`. Short real windows (seconds)."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.contract_helpers import API, World, expect, instant, sleep_until, utcnow

AUCTION_KEYS = {"id", "listing_id", "round", "stage", "status", "start_price", "increment",
                "current_price", "min_next_bid", "bid_count", "leader_code", "starts_at",
                "ends_at", "reserve_met", "winner_code"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 2, "STRIPE_SECRET_KEY": "",
            "STRIPE_API_BASE": ""}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def state(world, aid: int) -> dict:
    """The contract fields of an auction (server_time and the like left out)."""
    auc = world.auction(aid)
    return {k: auc[k] for k in AUCTION_KEYS}


def fields(auc: dict) -> dict:
    return {k: auc[k] for k in AUCTION_KEYS}


def open_auction(world, *, lasts, window=300, ext=300, start="100000.00",
                 increment="1000.00", deposit="10000.00", title="齿轮传动专利 gear"):
    """An owner's own patent auctioned; approved after starts_at passed → open at once."""
    a = world.asset(title=title)
    data = world.listing_body([a["id"]], title=title, start=start, increment=increment,
                              deposit=deposit, starts_in=1, lasts=lasts,
                              extension_window_s=window, extension_s=ext)
    lst = world.listing(world.owner, data)
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 200)
    sleep_until(instant(data["auction"]["starts_at"]))
    lst = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    auc = world.auction(lst["auction_id"])
    return lst, auc


def test_fields_and_approve_after_start_opens_at_once(world):
    """API.md Auctions: exactly these fields; API.md Listings: approved after starts_at → opens."""
    lst, auc = open_auction(world, lasts=30)
    # API.md: "more fields ... is yours to design" — the contract fields must all be there.
    assert set(auc) >= AUCTION_KEYS, sorted(AUCTION_KEYS - set(auc))
    assert auc["id"] == lst["auction_id"] and auc["listing_id"] == lst["id"]
    assert auc["round"] == 1 and auc["stage"] == "auction" and auc["status"] == "open", auc
    assert auc["start_price"] == "100000.00" and auc["increment"] == "1000.00"
    assert auc["min_next_bid"] == "100000.00" and auc["bid_count"] == 0
    assert auc["leader_code"] is None and auc["winner_code"] is None
    assert auc["current_price"] in (None, "100000.00"), auc
    assert instant(auc["starts_at"]) < instant(auc["ends_at"])
    bids = expect(world.anon.get(f"{API}/auctions/{auc['id']}/bids"), 200)
    assert bids["items"] == [] and bids["total"] == 0


def test_deposits_scheduled_auction_and_order_of_checks(world):
    """API.md Auctions: deposits while scheduled or open; offline → pending, confirm → held;
    stripe unconfigured → 422 method_unavailable; 422 not_increment_multiple before
    409 auction_not_open before 403 deposit_required."""
    a = world.asset()
    lst = world.publish(world.owner, world.listing_body(
        [a["id"]], start="100000.00", increment="1000.00", deposit="10000.00", starts_in=3600,
        lasts=60))
    aid = lst["auction_id"]
    assert world.auction(aid)["status"] == "scheduled"
    inv = world.investor
    expect(inv.post(f"{API}/auctions/{aid}/deposits", json={"method": "stripe"}), 422,
           "method_unavailable")
    expect(inv.post(f"{API}/auctions/{aid}/deposits", json={"method": "cash"}), 422)
    expect(world.owner.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}), 403)
    dep = expect(inv.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}), 201)
    assert dep["status"] == "pending" and dep["amount"] == "10000.00", dep
    assert isinstance(dep["id"], int)
    expect(world.bank.post(f"{API}/deposits/{dep['id']}/confirm"), 403)
    held = expect(world.operator.post(f"{API}/deposits/{dep['id']}/confirm"), 200)
    assert held["status"] == "held" and held["id"] == dep["id"], held
    expect(world.operator.post(f"{API}/deposits/{dep['id']}/confirm"), 409)
    before = state(world, aid)
    # A held deposit, a scheduled auction: off-step → 422, on-step → 409 auction_not_open.
    expect(world.bid(inv, aid, "100500.00"), 422, "not_increment_multiple")
    expect(world.bid(inv, aid, "100000.00"), 409, "auction_not_open")
    # No deposit and not open: auction_not_open comes before deposit_required.
    expect(world.bid(world.investor2, aid, "100500.00"), 422, "not_increment_multiple")
    expect(world.bid(world.investor2, aid, "100000.00"), 409, "auction_not_open")
    expect(world.bid(inv, aid, "abc"), 422)
    expect(world.bid(inv, aid, "-100000.00"), 422)
    expect(inv.post(f"{API}/auctions/{aid}/bids", json={"amount": "100000.00", "x": 1}), 422)
    expect(world.owner.post(f"{API}/auctions/{aid}/bids", json={"amount": "100000.00"}), 403)
    assert state(world, aid) == before
    assert expect(world.anon.get(f"{API}/auctions/{aid}/bids"), 200)["total"] == 0


def test_bidding_soft_close_bid_log_and_close(world):
    """API.md Auctions / 法释〔2016〕18号: checks in order; first bid may equal start; a bid
    inside the window sets ends_at = max(ends_at, placed_at + extension_s); refused bids
    change nothing; bids newest first with codes only; closed by scheduler run-once."""
    lst, auc = open_auction(world, lasts=8, window=4, ext=6)
    aid = auc["id"]
    inv1, inv2, inv3 = world.investor, world.investor2, world.investor3
    world.qualify(inv1, aid)
    world.qualify(inv2, aid)
    snap = state(world, aid)
    expect(world.bid(inv1, aid, "100500.00"), 422, "not_increment_multiple")
    expect(world.bid(inv3, aid, "100500.00"), 422, "not_increment_multiple")
    expect(world.bid(inv3, aid, "100000.00"), 403, "deposit_required")
    # A deposit not yet confirmed does not qualify.
    pending = expect(inv3.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}),
                     201)
    assert pending["status"] == "pending"
    expect(world.bid(inv3, aid, "100000.00"), 403, "deposit_required")
    expect(world.bid(inv2, aid, "99000.00"), 409, "bid_too_low")
    assert state(world, aid) == snap
    r1 = expect(world.bid(inv1, aid, "100000.00"), 201)
    assert set(r1) >= {"bid", "auction"}, r1
    b1 = r1["bid"]
    assert b1["amount"] == "100000.00" and isinstance(b1["bidder_code"], str)
    placed1 = instant(b1["placed_at"])
    a1 = r1["auction"]
    assert a1["bid_count"] == 1 and a1["current_price"] == "100000.00", a1
    assert a1["min_next_bid"] == "101000.00" and a1["leader_code"] == b1["bidder_code"], a1
    # Outside the window: the close does not move.
    assert instant(a1["ends_at"]) == instant(auc["ends_at"]), (a1, auc)
    assert (instant(auc["ends_at"]) - placed1).total_seconds() > 4, "test timing: too slow"
    snap = state(world, aid)
    assert snap == fields(a1)
    expect(world.bid(inv1, aid, "101000.00"), 409, "already_leading")
    expect(world.owner.post(f"{API}/listings/{lst['id']}/withdraw"), 409)  # after a bid
    expect(world.bid(inv2, aid, "100000.00"), 409, "bid_too_low")
    expect(world.bid(inv2, aid, "100500.00"), 422, "not_increment_multiple")
    assert state(world, aid) == snap
    # Inside the 4 s window: the close moves to placed_at + 6 s.
    sleep_until(instant(auc["ends_at"]) - dt.timedelta(seconds=2.5))
    r2 = expect(world.bid(inv2, aid, "103000.00"), 201)
    placed2 = instant(r2["bid"]["placed_at"])
    a2 = r2["auction"]
    assert instant(a2["ends_at"]) == placed2 + dt.timedelta(seconds=6), (a2, r2["bid"])
    assert instant(a2["ends_at"]) > instant(auc["ends_at"])
    assert a2["bid_count"] == 2 and a2["leader_code"] == r2["bid"]["bidder_code"]
    assert a2["leader_code"] != b1["bidder_code"] and a2["min_next_bid"] == "104000.00"
    assert state(world, aid) == fields(a2)
    # Again and again: a later bid inside the window moves the close once more.
    sleep_until(instant(a2["ends_at"]) - dt.timedelta(seconds=3))
    r3 = expect(world.bid(inv1, aid, "104000.00"), 201)
    a3 = r3["auction"]
    assert instant(a3["ends_at"]) == instant(r3["bid"]["placed_at"]) + dt.timedelta(seconds=6)
    assert instant(a3["ends_at"]) > instant(a2["ends_at"])
    r2, a2, b1 = r3, a3, r2["bid"]
    bids = expect(world.anon.get(f"{API}/auctions/{aid}/bids"), 200)
    assert bids["total"] == 3 == a2["bid_count"]
    assert [(b["amount"], b["bidder_code"]) for b in bids["items"]] == [
        ("104000.00", r2["bid"]["bidder_code"]), ("103000.00", b1["bidder_code"]),
        ("100000.00", r1["bid"]["bidder_code"])], bids
    for b in bids["items"]:
        assert set(b) >= {"amount", "bidder_code", "placed_at"}, b
        leaks = {k for k in b if any(w in k for w in ("user", "org", "email", "name",
                                                      "investor"))}
        assert not leaks, b
    # After ends_at: not open whatever the row says; refused bids change nothing.
    sleep_until(instant(a2["ends_at"]))
    expect(world.bid(inv2, aid, "105000.00"), 409, "auction_not_open")
    # Deposits only while scheduled or open.
    late = world.actors.api("investor")
    expect(late.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}), 409)
    after = world.auction(aid)
    assert after["ends_at"] == a2["ends_at"] and after["bid_count"] == 3
    world.run_once()
    closed = world.auction(aid)
    assert closed["status"] == "closed", closed
    assert closed["winner_code"] == r2["bid"]["bidder_code"] and closed["reserve_met"] is True
    assert closed["current_price"] == "104000.00" and closed["bid_count"] == 3
    expect(world.bid(inv2, aid, "105000.00"), 409, "auction_not_open")


def test_short_extension_never_shortens_the_close(world):
    """API.md Listings: extension_window_s=7, extension_s=1 accepted; ends_at is the max."""
    lst, auc = open_auction(world, lasts=3, window=7, ext=1)
    aid = auc["id"]
    world.qualify(world.investor, aid)
    r = expect(world.bid(world.investor, aid, "100000.00"), 201)
    placed = instant(r["bid"]["placed_at"])
    assert placed + dt.timedelta(seconds=1) < instant(auc["ends_at"])
    assert r["auction"]["ends_at"] == auc["ends_at"] or \
        instant(r["auction"]["ends_at"]) == instant(auc["ends_at"]), r
    sleep_until(instant(auc["ends_at"]))
    world.run_once()
    closed = world.auction(aid)
    assert closed["status"] == "closed" and closed["winner_code"] == r["bid"]["bidder_code"]
    assert utcnow() >= instant(closed["ends_at"])


def test_reserve_not_met_means_no_winner(world):
    """API.md Auctions: reserve_met; DOMAIN.md / 法释〔2016〕18号: a bidder wins only at or
    above the starting and reserve price — otherwise the round fails."""
    a = world.asset(title="reserve")
    data = world.listing_body([a["id"]], title="reserve", start="100000.00",
                              increment="1000.00", deposit="10000.00", starts_in=1, lasts=3,
                              reserve_price="105000.00", extension_window_s=1, extension_s=1)
    lst = world.listing(world.owner, data)
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 200)
    sleep_until(instant(data["auction"]["starts_at"]))
    lst = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    aid = lst["auction_id"]
    world.qualify(world.investor, aid)
    r = expect(world.bid(world.investor, aid, "100000.00"), 201)
    assert r["auction"]["reserve_met"] is False, r
    sleep_until(instant(world.auction(aid)["ends_at"]))
    world.run_once()
    done = world.auction(aid)
    assert done["status"] == "failed" and done["winner_code"] is None, done
    assert done["reserve_met"] is False


def test_open_is_by_server_time_and_run_once_finishes_what_it_makes_due(world):
    """API.md Auctions: open means starts_at ≤ server time < ends_at, whatever the row's
    status says; API.md CLI: run-once repeats until nothing is due (open, then close)."""
    a = world.asset(title="scheduled then due")
    data = world.listing_body([a["id"]], title="scheduled", start="100000.00",
                              increment="1000.00", deposit="10000.00", starts_in=2, lasts=3,
                              extension_window_s=1, extension_s=1)
    lst = world.publish(world.owner, data)
    aid = lst["auction_id"]
    assert world.auction(aid)["status"] == "scheduled"
    world.qualify(world.investor, aid)
    sleep_until(instant(data["auction"]["starts_at"]))
    # No scheduler has run: the row may still say scheduled, but the auction is open.
    r = expect(world.bid(world.investor, aid, "100000.00"), 201)
    sleep_until(instant(world.auction(aid)["ends_at"]))
    world.run_once()
    done = world.auction(aid)
    assert done["status"] == "closed" and done["winner_code"] == r["bid"]["bidder_code"], done
    # Another auction nobody opened: one run-once opens and closes it (no bids → failed).
    b = world.asset(title="never touched")
    data = world.listing_body([b["id"]], title="untouched", start="100000.00",
                              increment="1000.00", deposit="10000.00", starts_in=1, lasts=2,
                              extension_window_s=1, extension_s=1)
    lst = world.publish(world.owner, data)
    sleep_until(instant(data["auction"]["ends_at"]))
    world.run_once()
    done = world.auction(lst["auction_id"])
    assert done["status"] == "failed" and done["winner_code"] is None, done
