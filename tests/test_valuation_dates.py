"""Valuation dates (API.md "Assets", issues 12 and 13): valued_on not after today's
business date in the market's time zone; valid_until defaults to, and may not pass, the
operator's validity period (setting valuation_validity_days, one year by default)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from market import settings_store
from market.assets.models import Valuation
from tests.contract_helpers import API, expect
from tests.lending_helpers import make_asset

ZONE = "Pacific/Kiritimati"  # UTC+14: its business date runs ahead of UTC for most of a day


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_TIMEZONE": ZONE}


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(ZONE)).date()


def _count(db) -> int:
    db.rollback()  # a fresh snapshot: the app wrote through its own connection
    return db.scalar(select(func.count()).select_from(Valuation))


def _body(valued_on: dt.date, valid_until: dt.date | None = None) -> dict:
    body = {"amount": "1000000.00", "valued_on": valued_on.isoformat(), "method": "income",
            "agency": "中联资产评估"}
    if valid_until is not None:
        body["valid_until"] = valid_until.isoformat()
    return body


def test_valued_on_may_be_today_in_the_market_zone_not_after(actors, db):
    bank = actors.api("bank")
    asset = make_asset(bank, actors.user("owner")["org_id"], value=None)
    url = f"{API}/assets/{asset['id']}/valuations"
    today = _today()
    expect(bank.post(url, json=_body(today)), 201)
    before = _count(db)
    expect(bank.post(url, json=_body(today + dt.timedelta(days=1))), 422, "valued_on_in_future")
    assert _count(db) == before


def test_validity_defaults_to_one_year_and_may_not_exceed_it(actors, db):
    bank = actors.api("bank")
    asset = make_asset(bank, actors.user("owner")["org_id"], value=None)
    url = f"{API}/assets/{asset['id']}/valuations"
    on = dt.date(2024, 1, 1)
    v = expect(bank.post(url, json=_body(on)), 201)
    assert v["valid_until"] == "2025-01-01" and v["status"] == "applied"
    expect(bank.post(url, json=_body(on, dt.date(2025, 1, 1))), 201)  # a calendar year
    before = _count(db)
    expect(bank.post(url, json=_body(on, dt.date(2025, 1, 2))), 422, "validity_too_long")
    expect(bank.post(url, json=_body(on, dt.date(2026, 6, 30))), 422, "validity_too_long")
    assert _count(db) == before


def test_the_operator_validity_setting_governs(actors, db):
    """An operator shortens the validity period: the default and the limit follow."""
    bank = actors.api("bank")
    asset = make_asset(bank, actors.user("owner")["org_id"], value=None)
    url = f"{API}/assets/{asset['id']}/valuations"
    settings_store.put(db, "valuation_validity_days", "180", actor_id=None)
    db.commit()
    on = dt.date(2024, 3, 1)
    v = expect(bank.post(url, json=_body(on)), 201)
    assert v["valid_until"] == (on + dt.timedelta(days=180)).isoformat()
    expect(bank.post(url, json=_body(on, on + dt.timedelta(days=180))), 201)
    expect(bank.post(url, json=_body(on, on + dt.timedelta(days=181))), 422,
           "validity_too_long")


def test_the_web_form_refuses_a_future_date_without_writing(actors, app, db):
    owner = actors.user("owner")
    bank = actors.api("bank")
    asset = make_asset(bank, owner["org_id"], value=None)
    client = actors.login(app.test_client(), owner)
    before = _count(db)
    resp = client.post(f"/assets/{asset['id']}/valuations", data={
        "amount": "1,000,000.00", "valued_on": (_today() + dt.timedelta(days=1)).isoformat(),
        "method": "income", "agency": "中联资产评估"})
    assert resp.status_code == 302
    assert _count(db) == before
    page = client.get(f"/assets/{asset['id']}").get_data(as_text=True)
    assert "after today" in page
