"""Backstop purchase (托底式收购) end to end through the API, as API.md "Backstop purchase"
states it: the fund must accept; approval needs the acceptance; a round with no bid at all
sells to the fund at its price; any user of the fund pays; a fund that does not pay by
balance_due_by is barred (法释〔2016〕18号 art. 24) and the listing goes to the next round
with its cut and its notice (art. 26) running from that deadline."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from auctions.models import Auction
from market.accounts.models import Org
from market.db import database
from market.settlement.models import Settlement
from market.timeutil import business_date, utcnow
from tests.auction_helpers import bid, make_auction, move_times, qualify, run_scheduler
from tests.contract_helpers import API, World, expect, instant

D = Decimal
REAUCTION_NOTICE = 1296000  # API.md default: 15 days


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_REAUCTION_NOTICE_SECONDS": REAUCTION_NOTICE}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _fund_user(world, db, role="investor"):
    db.rollback()
    name = db.get(Org, world.fund["org_id"]).name
    db.rollback()
    return world.actors.api(role, org=name)


def _listing_with_backstop(world, **extra):
    a, ln = world.collateral()  # appraisal 1,000,000 → floor 700,000
    body = world.listing_body([a["id"]], ln["id"], start="700000.00", increment="10000.00",
                              deposit="70000.00",
                              backstop={"org_id": world.fund["org_id"], "price": "700000.00"},
                              **extra)
    return world.listing(world.bank, body), body


def _close_now(world, aid):
    move_times(world.app, aid, starts_in=-10, ends_in=-1)
    world.run_once()


def test_backstop_terms_are_checked(world):
    """API.md: the backstop is not the seller's or the pledgor's organisation (422
    backstop_not_allowed) and its price is at least the floor (422 start_price_below_floor)."""
    a, ln = world.collateral()
    for org_id in (world.bank.user["org_id"], world.borrower_id):
        body = world.listing_body([a["id"]], ln["id"],
                                  backstop={"org_id": org_id, "price": "700000.00"})
        expect(world.bank.post(f"{API}/listings", json=body), 422, "backstop_not_allowed")
    body = world.listing_body([a["id"]], ln["id"],
                              backstop={"org_id": world.fund["org_id"], "price": "690000.00"})
    expect(world.bank.post(f"{API}/listings", json=body), 422, "start_price_below_floor")


def test_the_fund_accepts_and_buys_a_round_without_bids_and_pays(world, db):
    """API.md "Backstop purchase": accept (any role of the fund; others 404; twice 409),
    approval refused before it (409 backstop_not_accepted); no bid → the fund buys at its
    price, settlement awaiting_payment with the fund as buyer and as_of the close date;
    another user of the fund pays and the sale settles."""
    lst, _ = _listing_with_backstop(world)
    lid = lst["id"]
    expect(world.bank.post(f"{API}/listings/{lid}/submit"), 200)
    expect(world.operator.post(f"{API}/listings/{lid}/approve"), 409, "backstop_not_accepted")
    expect(world.investor.post(f"{API}/listings/{lid}/backstop/accept"), 404)
    expect(world.bank.post(f"{API}/listings/{lid}/backstop/accept"), 404)
    acceptor = _fund_user(world, db, role="owner")
    got = expect(acceptor.post(f"{API}/listings/{lid}/backstop/accept"), 200)
    assert got["auction"]["backstop"]["org_id"] == world.fund["org_id"]
    assert got["auction"]["backstop"]["accepted_at"] is not None
    expect(acceptor.post(f"{API}/listings/{lid}/backstop/accept"), 409,
           "backstop_already_accepted")
    lst = expect(world.operator.post(f"{API}/listings/{lid}/approve"), 200)
    aid = lst["auction_id"]
    _close_now(world, aid)
    ends = instant(world.auction(aid)["ends_at"])
    st = expect(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)
    assert st["status"] == "awaiting_payment" and st["price"] == "700000.00", st
    assert st["as_of"] == business_date(ends, "Asia/Shanghai").isoformat()
    db.rollback()
    row = db.scalar(select(Settlement).where(Settlement.listing_id == lid))
    assert row.buyer_org_id == world.fund["org_id"] and row.buyer_user_id is None
    # A user of another organisation may not pay; any user of the fund may.
    expect(world.investor.post(f"{API}/listings/{lid}/payments", json={"method": "offline"}),
           403, "not_winner")
    payer = _fund_user(world, db)
    pay = expect(payer.post(f"{API}/listings/{lid}/payments", json={"method": "offline"}), 201)
    assert pay["amount"] == "700000.00" and pay["status"] == "pending"
    expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    assert expect(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)["status"] == "settled"
    assert expect(world.bank.get(f"{API}/listings/{lid}"), 200)["status"] == "settled"


def test_an_unpaid_backstop_bars_the_fund_and_sends_the_listing_to_the_next_round(world, db):
    """API.md: unpaid by balance_due_by → the fund is barred like a defaulting buyer and
    the next round follows with the listing's cut (0.10 here) and the re-auction notice
    counted from the deadline (法释〔2016〕18号 arts. 24, 26)."""
    lst, _ = _listing_with_backstop(world, reauction_cut="0.10")
    lid = lst["id"]
    expect(world.bank.post(f"{API}/listings/{lid}/submit"), 200)
    expect(_fund_user(world, db).post(f"{API}/listings/{lid}/backstop/accept"), 200)
    aid = expect(world.operator.post(f"{API}/listings/{lid}/approve"), 200)["auction_id"]
    _close_now(world, aid)
    deadline = utcnow().replace(microsecond=0) - dt.timedelta(seconds=5)
    with world.app.app_context(), database(world.app).transaction() as s:
        s.execute(update(Settlement).where(Settlement.listing_id == lid)
                  .values(balance_due_by=deadline))
    world.run_once()
    assert expect(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)["status"] == "defaulted"
    lst = expect(world.bank.get(f"{API}/listings/{lid}"), 200)
    assert lst["status"] == "published" and lst["auction_id"] != aid
    nxt = world.auction(lst["auction_id"])
    assert nxt["round"] == 2 and nxt["status"] == "scheduled"
    assert nxt["start_price"] == "630000.00"  # 700,000 cut by the listing's 10%
    notice = dt.timedelta(seconds=REAUCTION_NOTICE)  # announced now: from now, and the deadline
    assert deadline + notice <= instant(nxt["starts_at"]) <= utcnow() + notice
    expect(_fund_user(world, db).post(f"{API}/auctions/{nxt['id']}/deposits",
                                      json={"method": "offline"}), 403, "bidder_barred")
    expect(world.investor.post(f"{API}/auctions/{nxt['id']}/deposits",
                               json={"method": "offline"}), 201)


def test_a_round_with_bids_that_missed_the_reserve_goes_on(app, db, actors):
    """API.md: a round that had bids but missed the reserve goes to the next round as
    usual; the backstop buys only when there was no bid at all."""
    fund = actors.user("investor", org_kind="fund")
    op, inv = actors.api("operator"), actors.api("investor")
    lid, aid = make_auction(db, actors.user("bank"), reserve_price="200000.00",
                            backstop=(fund["org_id"], "75000.00", fund["id"]))
    qualify(inv, op, aid)
    assert bid(inv, aid, "100000.00").status_code == 201
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    db.rollback()
    assert db.get(Auction, aid).outcome == "reserve_not_met"
    assert db.scalar(select(Settlement).where(Settlement.listing_id == lid)) is None
    assert db.scalar(select(Auction.id).where(Auction.listing_id == lid, Auction.round == 2))
