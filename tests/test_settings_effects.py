"""Every setting the operator sees on /admin/settings changes behaviour: each test here
changes one (through the settings store, or the page) and sees the effect. (The commission
and premium rates: test_settlement; the start-price floor: test_listings_api.)"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from auctions.models import Auction
from market.payments.models import Deposit
from listings import rules
from listings.models import Listing
from market import settings_store
from market.assets.models import Asset
from market.db import database
from market.errors import Invalid
from market.lending.models import Loan
from market.lending.monitoring import findings
from market.settlement.models import Settlement
from market.timeutil import utcnow
from tests.auction_helpers import bid, make_auction, move_times, qualify, run_scheduler
from tests.lending_helpers import book, make_loan
from tests.listing_helpers import Setup

D = Decimal


def _set(app, key: str, value: str) -> None:
    with app.app_context(), database(app).transaction() as s:
        settings_store.put(s, key, value, actor_id=None)


def _page_values(db) -> dict[str, str]:
    return {k: str(v) for k, v in settings_store.all_values(db).items()
            if settings_store.SPECS[k].shown}


def test_hidden_settings_are_not_on_the_page_and_the_shown_ones_are(client, actors, db):
    actors.login(client, actors.user("operator"))
    html = client.get("/admin/settings").get_data(as_text=True)
    for key, spec in settings_store.SPECS.items():
        assert (f'name="{key}"' in html) == spec.shown, key
    assert not settings_store.SPECS["npl_tolerance_pp"].shown
    # a hidden setting cannot be saved through the page either
    resp = client.post("/admin/settings", data={**_page_values(db), "npl_tolerance_pp": "9"})
    assert resp.status_code == 302
    db.rollback()
    assert settings_store.get(db, "npl_tolerance_pp") == D("3")


def _terms(**kw) -> Listing:
    t = utcnow()
    base = dict(mode="auction", start_price=D("100000.00"), increment=D("1000.00"),
                deposit=D("10000.00"), starts_at=t, ends_at=t + dt.timedelta(days=2),
                extension_window_s=300, extension_s=300)
    return Listing(**{**base, **kw})


def _refusal(db, listing) -> str | None:
    try:
        rules.check_auction_terms(db, listing)
    except Invalid as exc:
        return exc.code
    return None


def test_min_auction_seconds(app, db):
    short = _terms(ends_at=utcnow() + dt.timedelta(hours=2))
    assert _refusal(db, short) == "auction_too_short"
    _set(app, "min_auction_seconds", "3600")
    db.rollback()
    assert _refusal(db, short) is None


def test_deposit_min_and_max_ratio(app, db):
    low, high = _terms(deposit=D("3000.00")), _terms(deposit=D("25000.00"))
    assert _refusal(db, low) == _refusal(db, high) == "deposit_out_of_range"
    _set(app, "deposit_min_ratio", "0.02")
    db.rollback()
    assert _refusal(db, low) is None and _refusal(db, high) == "deposit_out_of_range"
    _set(app, "deposit_max_ratio", "0.30")
    db.rollback()
    assert _refusal(db, high) is None


def test_soft_close_defaults_fill_listings_that_do_not_say(app, actors, db, client):
    setup = Setup(actors, db)
    _set(app, "default_extension_window_s", "120")
    _set(app, "default_extension_s", "45")
    a = setup.create()["auction"]
    assert (a["extension_window_s"], a["extension_s"]) == (120, 45)
    own = setup.create(setup.collateral_body(extension_window_s=600, extension_s=30))["auction"]
    assert (own["extension_window_s"], own["extension_s"]) == (600, 30)
    # the new-listing page proposes them
    actors.login(client, setup.bank.user)
    html = client.get("/listings/new").get_data(as_text=True)
    assert 'name="extension_window_s"' in html and 'value="120"' in html
    assert 'name="extension_s"' in html and 'value="45"' in html


def test_a_round_of_a_listing_without_soft_close_terms_takes_the_defaults(app, db, actors):
    _set(app, "default_extension_window_s", "90")
    _set(app, "default_extension_s", "30")
    db.rollback()
    lid, aid = make_auction(db, actors.user("bank"), window=0, extension=0)
    a = db.get(Auction, aid)
    assert (a.extension_window_s, a.extension_s) == (90, 30)


def _fail_round(app, db, auction_id: int) -> Auction:
    move_times(app, auction_id, starts_in=-10, ends_in=-1)
    run_scheduler(app)
    db.rollback()
    listing = db.scalar(select(Listing).join(Auction, Auction.listing_id == Listing.id)
                        .where(Auction.id == auction_id))
    return db.get(Auction, listing.auction_id)


def test_reauction_max_cut(app, db, actors):
    _set(app, "reauction_max_cut", "0.05")
    _lid, aid = make_auction(db, actors.user("bank"))
    r2 = _fail_round(app, db, aid)
    assert r2.round == 2 and r2.start_price == D("95000.00")  # default 0.20: 80,000


def test_reauction_within_days(app, db, actors):
    _set(app, "reauction_within_days", "0")
    _lid, aid = make_auction(db, actors.user("bank"))
    r2 = _fail_round(app, db, aid)
    # the default (30 days) leaves a day's gap before the next round; 0 opens it at once
    assert r2.round == 2 and r2.starts_at <= utcnow()


def test_fixed_price_days_and_countdown(app, db, actors):
    _set(app, "fixed_price_days", "10")
    _set(app, "fixed_price_countdown_s", "3600")
    _lid, aid = make_auction(db, actors.user("bank"))
    r3 = _fail_round(app, db, _fail_round(app, db, aid).id)
    assert r3.stage == "fixed_price"
    assert r3.ends_at - r3.starts_at == dt.timedelta(days=10)
    op, inv = actors.api("operator"), actors.api("investor")
    qualify(inv, op, r3.id)
    r = bid(inv, r3.id, f"{r3.start_price:.2f}").get_json()
    placed = dt.datetime.fromisoformat(r["bid"]["placed_at"])
    assert dt.datetime.fromisoformat(r["auction"]["ends_at"]) == placed + dt.timedelta(hours=1)


def test_deposit_release_hours_and_balance_due_days(app, db, actors):
    _set(app, "deposit_release_hours", "48")
    _set(app, "balance_due_days", "3")
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    d1, _d2 = qualify(a1, op, aid), qualify(a2, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201
    assert bid(a2, aid, "101000.00").status_code == 201
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    db.rollback()
    a = db.get(Auction, aid)
    lost = db.get(Deposit, d1)
    assert lost.status == "released"
    assert a.closed_at + dt.timedelta(hours=47) < lost.release_due_at \
        <= utcnow() + dt.timedelta(hours=48)
    st = db.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{aid}"))
    assert st.balance_due_by == a.ends_at + dt.timedelta(days=3)


def test_valuation_validity_days(app, actors):
    bank = actors.api("bank")
    owner = actors.user("owner")
    asset = bank.post("/api/v1/assets", json={
        "kind": "invention_patent", "registry_no": "ZL202310999999.1", "title": "一种减速器",
        "owner_org_id": owner["org_id"], "expires_on": "2040-06-30"}).get_json()
    body = {"amount": "500000.00", "valued_on": "2024-03-01", "method": "market",
            "agency": "中联评估"}
    v = bank.post(f"/api/v1/assets/{asset['id']}/valuations", json=body).get_json()
    assert v["valid_until"] == "2025-03-01"  # the default: one year
    _set(app, "valuation_validity_days", "180")
    v = bank.post(f"/api/v1/assets/{asset['id']}/valuations", json=body).get_json()
    assert v["valid_until"] == "2024-08-28"


@pytest.fixture
def loan_today(actors, db):
    b = book(actors)  # one asset worth 5,000,000; the loan 3,000,000 → LTV 0.6
    loan = make_loan(b)
    db.rollback()
    return db.get(Loan, loan["id"]), db.get(Asset, b.assets[0]["id"]), dt.date(2024, 6, 1)


def _kinds(db, loan, day) -> set[str]:
    db.rollback()
    return {f.kind for f in findings(db, db.get(Loan, loan.id), day)}


def test_ltv_threshold_through_the_settings_page(app, client, actors, db, loan_today):
    loan, _asset, day = loan_today
    assert "ltv" not in _kinds(db, loan, day)
    actors.login(client, actors.user("operator"))
    resp = client.post("/admin/settings", data={**_page_values(db), "ltv_threshold": "0.5"})
    assert resp.status_code == 302
    assert "ltv" in _kinds(db, loan, day)


def test_annuity_warning_days(app, db, loan_today):
    loan, asset, day = loan_today
    asset.next_fee_due_on = day + dt.timedelta(days=90)
    db.commit()
    assert "annuity_due" not in _kinds(db, loan, day)  # default: warn 60 days ahead
    _set(app, "annuity_warning_days", "120")
    assert "annuity_due" in _kinds(db, loan, day)
