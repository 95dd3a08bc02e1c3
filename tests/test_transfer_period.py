"""A listed transfer's disclosure period in working days (API.md "Listed transfer"): 24:00
market time of the N-th working day after the publication's business date, by the
calendar (tests/test_calendar.py); N from the operator's settings."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from listings.models import Listing
from listings.modes import transfer_demo
from market import settings_store
from market.demo import DemoContext, seed_accounts
from market.db import database
from tests.contract_helpers import API, World, expect, instant, sleep_until
from tests.test_transfer import body, register

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _set(app, key: str, value: str) -> None:
    with app.app_context(), database(app).transaction() as s:
        settings_store.put(s, key, value, actor_id=None)


def expected_end(world, published_at: str, n: int) -> tuple[dt.datetime, str]:
    day = instant(published_at).astimezone(TZ).date()
    last = expect(world.anon.get(f"{API}/calendar/working-day?after={day}&n={n}"), 200)["date"]
    midnight = dt.datetime.combine(dt.date.fromisoformat(last) + dt.timedelta(days=1),
                                   dt.time(), TZ)
    return midnight.astimezone(dt.timezone.utc), last


def publish(world, **kw) -> dict:
    a, ln = world.collateral(value="1000000.00")
    return world.publish(world.bank, body(world, [a["id"]], ln["id"], **kw))


def test_the_period_ends_at_midnight_after_the_nth_working_day_and_the_agreement_is_dated_then(world):
    lst = publish(world)
    ends, last = expected_end(world, lst["published_at"], 10)
    assert instant(lst["transfer"]["disclosure_ends_at"]) == ends
    assert lst["transfer"]["disclosure_days"] == 10
    register(world, world.investor, lst["id"])
    sleep_until(ends)
    world.run_once()
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    assert st["as_of"] == last, st  # the period's last working day


def test_an_operator_holiday_moves_the_end(world):
    first = publish(world)
    ends, last = expected_end(world, first["published_at"], 10)
    expect(world.operator.put(f"{API}/calendar/days/{last}",
                              json={"working": False, "note": "国务院办公厅通知"}), 200)
    second = publish(world)
    later, later_last = expected_end(world, second["published_at"], 10)
    assert later_last > last
    assert instant(second["transfer"]["disclosure_ends_at"]) == later
    # A period already fixed does not move.
    got = expect(world.bank.get(f"{API}/listings/{first['id']}"), 200)
    assert instant(got["transfer"]["disclosure_ends_at"]) == ends


def test_the_disclosure_settings_change_the_rule(app, world):
    _set(app, "transfer_disclosure_days", "12")
    a, ln = world.collateral(value="1000000.00")
    expect(world.bank.post(f"{API}/listings", json=body(world, [a["id"]], ln["id"],
                                                       disclosure_days=11)),
           422, "disclosure_too_short")
    lst = publish(world)
    assert lst["transfer"]["disclosure_days"] == 12
    ends, _last = expected_end(world, lst["published_at"], 12)
    assert instant(lst["transfer"]["disclosure_ends_at"]) == ends
    # A listing that met the rule when created is refused on submit after the change.
    _set(app, "transfer_disclosure_days", "10")
    b, ln2 = world.collateral(value="1000000.00")
    draft = world.listing(world.bank, body(world, [b["id"]], ln2["id"], disclosure_days=10))
    _set(app, "transfer_disclosure_days", "11")
    expect(world.bank.post(f"{API}/listings/{draft['id']}/submit"), 422, "disclosure_too_short")
    # And on approval.
    _set(app, "transfer_disclosure_days", "10")
    expect(world.bank.post(f"{API}/listings/{draft['id']}/submit"), 200)
    _set(app, "transfer_disclosure_days", "11")
    expect(world.operator.post(f"{API}/listings/{draft['id']}/approve"), 422,
           "disclosure_too_short")
    # Above ten million: the large rule, its own setting.
    _set(app, "transfer_disclosure_days_large", "25")
    own = world.asset()
    expect(world.owner.post(f"{API}/listings", json=body(
        world, [own["id"]], list_price="12000000.00", deposit="1200000.00",
        disclosure_days=24)), 422, "disclosure_too_short")
    big = world.listing(world.owner, body(world, [own["id"]], list_price="12000000.00",
                                          deposit="1200000.00"))
    assert big["transfer"]["disclosure_days"] == 25


def test_demo_transfer_has_just_ended_with_two_registrants_and_the_scheduler_opens_their_auction(app, world):
    with app.app_context(), database(app).transaction() as s:
        ctx = DemoContext()
        seed_accounts(s, ctx)
        transfer_demo.seed(s, ctx)
        lid = s.scalar(select(Listing.id).where(Listing.mode == "transfer"))
    got = expect(world.operator.get(f"{API}/listings/{lid}"), 200)
    assert got["status"] == "published" and got["transfer"]["outcome"] is None
    ends = instant(got["transfer"]["disclosure_ends_at"])
    assert ends <= dt.datetime.now(dt.timezone.utc) < ends + dt.timedelta(days=30)
    world.run_once()
    got = expect(world.operator.get(f"{API}/listings/{lid}"), 200)
    assert got["transfer"]["outcome"] == "auction" and got["auction_id"], got
