"""Listed transfer (API.md "Listed transfer"), black box over HTTP and the scheduler:
every refusal code and every outcome (0, 1, 2+ buyers), relists both ways, defaults.

MARKET_DISCLOSURE_SECONDS is set here (periods of a minute); the working-day period is
tests/test_transfer_period.py."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from listings.modes import transfer
from market.accounts.models import Org
from market.audit import AuditRecord
from market.db import database
from market.payments.models import Deposit
from tests.contract_helpers import (API, World, check_cases, expect, instant, iso,
                                    sleep_until, utcnow)

D = Decimal
SECONDS = 60


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_DISCLOSURE_SECONDS": SECONDS}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def terms(list_price="800000.00", deposit="80000.00", increment="10000.00", **kw) -> dict:
    return {"list_price": list_price, "deposit": deposit, "increment": increment, **kw}


def body(world, asset_ids, loan_id=None, **kw) -> dict:
    data = world.listing_body(asset_ids, loan_id, mode="transfer")
    data["transfer"] = terms(**kw)
    return data


def published(world, **kw) -> dict:
    """A bank's transfer of collateral valued 1,000,000.00, approved."""
    a, ln = world.collateral(value="1000000.00")
    return world.publish(world.bank, body(world, [a["id"]], ln["id"], **kw))


def register(world, investor, lid, *, confirm=True, amount="80000.00") -> dict:
    dep = expect(investor.post(f"{API}/listings/{lid}/deposits", json={"method": "offline"}), 201)
    assert dep["status"] == "pending" and dep["amount"] == amount, dep
    if confirm:
        dep = expect(world.operator.post(f"{API}/deposits/{dep['id']}/confirm"), 200)
        assert dep["status"] == "held", dep
    return dep


def end_period(world, listing: dict) -> dict:
    sleep_until(instant(listing["transfer"]["disclosure_ends_at"]))
    world.run_once()
    return expect(world.bank.get(f"{API}/listings/{listing['id']}"), 200)


def deposit_status(db, dep_id: int) -> str:
    db.rollback()
    return db.get(Deposit, dep_id).status


def colleague(actors, db, api_client, role="investor"):
    """Another user of the same organisation."""
    db.rollback()
    name = db.get(Org, api_client.user["org_id"]).name
    return actors.api(role, org=name)


# ---------------------------------------------------------------- terms

def test_create_echoes_the_terms_and_approval_fixes_the_period(world):
    a, ln = world.collateral(value="1000000.00")
    got = world.listing(world.bank, body(world, [a["id"]], ln["id"], disclosure_days=12))
    assert got["transfer"] == {"list_price": "800000.00", "deposit": "80000.00",
                               "increment": "10000.00", "disclosure_days": 12,
                               "auction_seconds": 86400, "disclosure_ends_at": None,
                               "outcome": None}, got
    expect(world.bank.post(f"{API}/listings/{got['id']}/submit"), 200)
    pub = expect(world.operator.post(f"{API}/listings/{got['id']}/approve"), 200)
    assert pub["status"] == "published"
    ends = instant(pub["transfer"]["disclosure_ends_at"])
    assert ends == instant(pub["published_at"]) + dt.timedelta(seconds=SECONDS)
    # Without disclosure_days: the rule's 10 (20 above 10,000,000.00).
    b = world.asset()
    own = world.listing(world.owner, body(world, [b["id"]]))
    assert own["transfer"]["disclosure_days"] == 10
    c = world.asset()
    big = world.listing(world.owner, body(world, [c["id"]], list_price="12000000.00",
                                          deposit="1200000.00"))
    assert big["transfer"]["disclosure_days"] == 20


def test_create_refusals(world):
    a, ln = world.collateral(value="1000000.00")
    own = world.asset()
    ok = body(world, [a["id"]], ln["id"])
    no_terms = {**ok}
    no_terms.pop("transfer")
    cases = [
        (world.bank, "POST", "/listings", no_terms, 422, "transfer_terms_required"),
        (world.bank, "POST", "/listings", body(world, [a["id"]], ln["id"], list_price="690000.00",
                                                deposit="69000.00"), 422, "start_price_below_floor"),
        (world.bank, "POST", "/listings", body(world, [a["id"]], ln["id"], deposit="39999.99"),
         422, "deposit_out_of_range"),
        (world.bank, "POST", "/listings", body(world, [a["id"]], ln["id"], deposit="160000.01"),
         422, "deposit_out_of_range"),
        (world.bank, "POST", "/listings", body(world, [a["id"]], ln["id"], disclosure_days=9),
         422, "disclosure_too_short"),
        (world.owner, "POST", "/listings", body(world, [own["id"]], list_price="10000000.01",
                                                 deposit="1000000.00", disclosure_days=19),
         422, "disclosure_too_short"),
        (world.bank, "POST", "/listings", body(world, [a["id"]], ln["id"], auction_seconds=86399),
         422, "auction_too_short"),
        (world.bank, "POST", "/listings", {**ok, "transfer": {"list_price": "800000.00"}}, 422),
    ]
    check_cases(cases)
    # Exactly at the limits: accepted (20 working days above ten million).
    world.listing(world.owner, body(world, [own["id"]], list_price="10000000.01",
                                    deposit="500000.01", disclosure_days=20))
    world.listing(world.bank, body(world, [a["id"]], ln["id"], list_price="700000.00",
                                   deposit="35000.00", disclosure_days=10))


# ---------------------------------------------------------------- registration

def test_registration_refusals(world, actors, db):
    lst = published(world)
    lid = lst["id"]
    pledgor_staff = colleague(actors, db, world.owner)
    register(world, world.investor, lid)
    same_org = colleague(actors, db, world.investor)
    check_cases([
        (world.anon, "POST", f"/listings/{lid}/deposits", {"method": "offline"}, 401),
        (world.bank, "POST", f"/listings/{lid}/deposits", {"method": "offline"}, 403, "forbidden"),
        (world.investor2, "POST", f"/listings/{lid}/deposits", {"method": "cash"}, 422),
        (world.investor2, "POST", "/listings/999999/deposits", {"method": "offline"}, 404),
        (pledgor_staff, "POST", f"/listings/{lid}/deposits", {"method": "offline"}, 403,
         "seller_cannot_bid"),
        (same_org, "POST", f"/listings/{lid}/deposits", {"method": "offline"}, 409,
         "org_already_registered"),
        (world.investor, "POST", f"/listings/{lid}/deposits", {"method": "offline"}, 409,
         "org_already_registered"),
    ])
    # The period has ended but nobody has decided yet: closed all the same.
    sleep_until(instant(lst["transfer"]["disclosure_ends_at"]))
    expect(world.investor2.post(f"{API}/listings/{lid}/deposits", json={"method": "offline"}),
           409, "disclosure_closed")
    world.run_once()
    expect(world.investor2.post(f"{API}/listings/{lid}/deposits", json={"method": "offline"}),
           409, "registration_closed")


def test_an_auction_listing_takes_no_registration(world):
    a, ln = world.collateral()
    lst = world.publish(world.bank, world.listing_body([a["id"]], ln["id"]))
    expect(world.investor.post(f"{API}/listings/{lst['id']}/deposits", json={"method": "offline"}),
           409, "not_a_transfer")


# ---------------------------------------------------------------- outcomes

def test_no_buyer_listing_unsold_pending_deposit_cancelled_then_relist_at_90_percent(world, db):
    lst = published(world)
    pending = register(world, world.investor, lst["id"], confirm=False)
    got = end_period(world, lst)
    assert got["status"] == "unsold" and got["transfer"]["outcome"] == "no_buyer", got
    assert deposit_status(db, pending["id"]) == "cancelled"
    lid = lst["id"]
    check_cases([
        (world.investor, "POST", f"/listings/{lid}/relist", {"list_price": "900000.00"}, 403,
         "forbidden"),
        (world.bank2, "POST", f"/listings/{lid}/relist", {"list_price": "900000.00"}, 403,
         "not_listing_seller"),
        (world.bank, "POST", f"/listings/{lid}/relist", {"list_price": "600000.00"}, 422,
         "start_price_below_floor"),
        (world.bank, "POST", f"/listings/{lid}/relist", {}, 422),
    ])
    # 900,000.00 is 90% of the value: straight back on sale with a new period.
    before = utcnow()
    again = expect(world.bank.post(f"{API}/listings/{lid}/relist",
                                   json={"list_price": "900000.00"}), 200)
    assert again["status"] == "published", again
    t = again["transfer"]
    assert t["list_price"] == "900000.00" and t["deposit"] == "90000.00" and t["outcome"] is None
    assert instant(t["disclosure_ends_at"]) >= before + dt.timedelta(seconds=SECONDS - 1)
    # Only from unsold.
    expect(world.bank.post(f"{API}/listings/{lid}/relist", json={"list_price": "900000.00"}),
           409, "invalid_transition")
    # The new period takes registrations, at the new deposit.
    register(world, world.investor, lid, amount="90000.00")


def test_relist_below_90_percent_goes_to_review(world):
    lst = published(world)
    end_period(world, lst)
    got = expect(world.bank.post(f"{API}/listings/{lst['id']}/relist",
                                 json={"list_price": "899999.99", "deposit": "50000.00",
                                       "disclosure_days": 15}), 200)
    assert got["status"] == "pending_review", got
    assert got["transfer"]["disclosure_ends_at"] is None and got["transfer"]["outcome"] is None
    assert got["transfer"]["disclosure_days"] == 15
    pub = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    assert pub["status"] == "published" and pub["transfer"]["disclosure_ends_at"], pub


def _settlement(world, lid):
    return expect(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)


def test_one_buyer_buys_by_agreement_the_deposit_counts_and_pays_to_settlement(world, actors, db):
    lst = published(world)
    lid = lst["id"]
    dep = register(world, world.investor, lid)
    # A colleague of the buyer cannot register again: one organisation is one buyer.
    expect(colleague(actors, db, world.investor).post(
        f"{API}/listings/{lid}/deposits", json={"method": "offline"}), 409, "org_already_registered")
    late = register(world, world.investor2, lid, confirm=False)  # never paid: cancelled
    got = end_period(world, lst)
    assert got["status"] == "sold" and got["transfer"]["outcome"] == "agreement", got
    assert got["auction_id"] is None
    assert deposit_status(db, late["id"]) == "cancelled"
    st = _settlement(world, lid)
    assert st["status"] == "awaiting_payment" and st["price"] == "800000.00"
    assert st["deposit_applied"] == "80000.00"
    ends = instant(lst["transfer"]["disclosure_ends_at"])
    from zoneinfo import ZoneInfo
    assert st["as_of"] == ends.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    # Only the buyer pays; it pays the balance and the sale settles.
    expect(world.investor2.post(f"{API}/listings/{lid}/payments", json={"method": "offline"}),
           403, "not_winner")
    pay = expect(world.investor.post(f"{API}/listings/{lid}/payments",
                                     json={"method": "offline"}), 201)
    assert D(pay["amount"]) == D(st["balance_due"]) == D("720000.00") + D(st["buyer_premium"])
    expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    assert expect(world.bank.get(f"{API}/listings/{lid}"), 200)["status"] == "settled"
    assert _settlement(world, lid)["status"] == "settled"
    assert deposit_status(db, dep["id"]) == "applied"


def test_an_agreement_buyer_who_does_not_pay_forfeits_is_barred_and_the_listing_is_unsold(world, db):
    lst = published(world)
    lid = lst["id"]
    dep = register(world, world.investor, lid)
    end_period(world, lst)
    st = _settlement(world, lid)
    sleep_until(instant(st["balance_due_by"]) if "+" in st["balance_due_by"]
                else dt.datetime.fromisoformat(st["balance_due_by"]).replace(tzinfo=dt.timezone.utc))
    world.run_once()
    got = expect(world.bank.get(f"{API}/listings/{lid}"), 200)
    assert got["status"] == "unsold", got
    assert deposit_status(db, dep["id"]) == "forfeited"
    expect(world.bank.post(f"{API}/listings/{lid}/relist", json={"list_price": "950000.00"}), 200)
    expect(world.investor.post(f"{API}/listings/{lid}/deposits", json={"method": "offline"}),
           403, "bidder_barred")
    # Another buyer takes it; the forfeited deposit is applied in its settlement.
    register(world, world.investor2, lid, amount="95000.00")
    relisted = expect(world.bank.get(f"{API}/listings/{lid}"), 200)
    end_period(world, relisted)
    st2 = _settlement(world, lid)
    assert st2["price"] == "950000.00" and st2["id"] != st["id"]
    assert D(st2["forfeited_deposits"]["amount"]) == D("80000.00"), st2


def test_two_buyers_auction_among_exactly_them(world, db):
    lst = published(world, auction_seconds=86400)
    lid = lst["id"]
    d1 = register(world, world.investor, lid)
    d2 = register(world, world.investor2, lid)
    d3 = register(world, world.investor3, lid, confirm=False)
    got = end_period(world, lst)
    assert got["status"] == "published" and got["transfer"]["outcome"] == "auction", got
    aid = got["auction_id"]
    a = world.auction(aid)
    assert a["start_price"] == "800000.00" and a["increment"] == "10000.00", a
    assert a["status"] == "open"
    assert instant(a["ends_at"]) - instant(a["starts_at"]) == dt.timedelta(seconds=86400)
    assert deposit_status(db, d3["id"]) == "cancelled"
    # Nobody else joins, by either door.
    expect(world.investor3.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}),
           409, "registration_closed")
    expect(world.investor3.post(f"{API}/listings/{lid}/deposits", json={"method": "offline"}),
           409, "registration_closed")
    expect(world.bid(world.investor, aid, "800000.00"), 201)
    expect(world.bid(world.investor2, aid, "810000.00"), 201)
    sleep_until(instant(world.auction(aid)["ends_at"]))
    world.run_once()
    assert expect(world.bank.get(f"{API}/listings/{lid}"), 200)["status"] == "sold"
    st = _settlement(world, lid)
    assert st["price"] == "810000.00" and st["deposit_applied"] == "80000.00"
    assert deposit_status(db, d1["id"]) == "released"
    assert deposit_status(db, d2["id"]) == "held"


def test_two_buyers_no_bid_unsold_and_deposits_released(world, db):
    lst = published(world)
    d1 = register(world, world.investor, lst["id"])
    d2 = register(world, world.investor2, lst["id"])
    got = end_period(world, lst)
    sleep_until(instant(world.auction(got["auction_id"])["ends_at"]))
    world.run_once()
    got = expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)
    assert got["status"] == "unsold" and got["transfer"]["outcome"] == "auction", got
    assert {deposit_status(db, d["id"]) for d in (d1, d2)} == {"released"}


def test_several_schedulers_decide_each_period_once(app, world, db):
    listings = [published(world) for _ in range(3)]
    for lst in listings[:2]:
        register(world, world.investor, lst["id"])
    register(world, world.investor2, listings[0]["id"])
    sleep_until(max(instant(x["transfer"]["disclosure_ends_at"]) for x in listings))
    dbase = database(app)
    errors = []

    def sweep():
        try:
            with app.app_context():
                transfer.decide_due(dbase)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db.rollback()
    ids = [x["id"] for x in listings]
    decided = db.scalars(select(AuditRecord.after).where(
        AuditRecord.action == "transfer.decided")).all()
    assert len(decided) == 3, decided
    outcomes = [expect(world.bank.get(f"{API}/listings/{i}"), 200)["transfer"]["outcome"]
                for i in ids]
    assert outcomes == ["auction", "agreement", "no_buyer"]
    rounds = db.scalar(select(func.count()).select_from(AuditRecord)
                       .where(AuditRecord.action == "auction.created"))
    assert rounds == 1


def test_unpublish_stops_the_period_and_a_new_approval_starts_another(world, db):
    lst = published(world)
    lid = lst["id"]
    dep = register(world, world.investor, lid)
    got = expect(world.operator.post(f"{API}/listings/{lid}/unpublish",
                                     json={"reason": "权属争议"}), 200)
    assert got["transfer"]["disclosure_ends_at"] is None, got
    assert deposit_status(db, dep["id"]) == "released"
    expect(world.bank.post(f"{API}/listings/{lid}/submit"), 200)
    again = expect(world.operator.post(f"{API}/listings/{lid}/approve"), 200)
    assert instant(again["transfer"]["disclosure_ends_at"]) > instant(lst["transfer"]["disclosure_ends_at"])
    register(world, world.investor, lid)


def test_an_unsold_transfer_can_be_withdrawn(world):
    lst = published(world)
    end_period(world, lst)
    got = expect(world.bank.post(f"{API}/listings/{lst['id']}/withdraw", json={}), 200)
    assert got["status"] == "withdrawn"


def test_a_card_registration_is_held_through_localstripe_and_counts(app_config, stripe_config):
    from market.app import create_app
    from tests.conftest import Actors

    app2 = create_app({**app_config, **stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"})
    w = World(app2, Actors(app2))
    lst = published(w)
    dep = expect(w.investor.post(f"{API}/listings/{lst['id']}/deposits",
                                 json={"method": "stripe"}), 201)
    assert dep["status"] == "held" and dep["amount"] == "80000.00" and dep["auction_id"] is None
    got = end_period(w, lst)
    assert got["transfer"]["outcome"] == "agreement" and got["status"] == "sold", got
