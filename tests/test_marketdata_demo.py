"""The demo's market history: two years of auctions made by the real flows under an
injected clock (market.timeutil.clock), settled across several IP kinds."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from market.db import database
from market.settlement.models import JournalEntry, Settlement
from market.timeutil import clock, utcnow

from .contract_helpers import API, expect

UTC = dt.timezone.utc


def test_injected_clock_is_utcnow_within_the_block_only():
    then = dt.datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    with clock(lambda: then):
        assert utcnow() == then
    assert abs((utcnow() - dt.datetime.now(UTC)).total_seconds()) < 5


def test_demo_seed_makes_two_years_of_settled_history(app, runner, client):
    res = runner.invoke(args=["demo", "seed"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "market history: 24 settled auctions" in res.output, res.output
    sales = expect(client.get(f"{API}/market/sales?per_page=100"), 200)
    items = sales["items"]
    assert sales["total"] == 24 and len(items) == 24
    assert len({k for i in items for k in i["kinds"]}) >= 5
    assert all(i["mode"] == "auction" and i["rounds"] == 1 and i["price_to_value"]
               for i in items)
    days = sorted(dt.date.fromisoformat(i["settled_on"]) for i in items)
    assert (days[-1] - days[0]).days > 600 and days[-1] < dt.date.today()
    index = expect(client.get(f"{API}/market/index"), 200)["items"]
    assert len(index) >= 8 and sum(i["n"] for i in index) == 24
    # Made under the clock: each sale's rows carry the dates the sale happened.
    with app.app_context(), database(app).transaction() as s:
        oldest = s.scalar(select(func.min(Settlement.created_at)))
        assert (utcnow() - oldest).days > 600
        assert (utcnow() - s.scalar(select(func.min(JournalEntry.at)))).days > 600
    assert 'data-test="index-chart"' in client.get("/market").get_data(as_text=True)

