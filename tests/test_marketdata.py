"""Market data (API.md "Market data"): settled sales, the quarterly index, price guides."""
from __future__ import annotations

import datetime as dt
import json
import statistics
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from market import settings_store
from market.settlement.models import Settlement

from .contract_helpers import API, assert_list, expect, is_money
from .marketdata_helpers import Market

D = Decimal
SALE_KEYS = {"listing_id", "mode", "kinds", "classification", "price", "value",
             "price_to_value", "settled_on", "rounds"}
BUYER_WORDS = ("buyer", "winner", "bidder", "user_id", "org_id")


def four(x) -> Decimal:
    return D(x).quantize(D("0.0001"), rounding=ROUND_HALF_UP)


def no_buyer(data, m: Market) -> None:
    """No buyer identity anywhere: no key that names one, nor its name, e-mail or ids."""
    text = json.dumps(data, ensure_ascii=False)
    assert m.buyer_org.name not in text and m.buyer.email not in text, text

    def keys(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                assert not any(w in k for w in BUYER_WORDS), (k, text)
                keys(v)
        elif isinstance(obj, list):
            for v in obj:
                keys(v)
    keys(data)


@pytest.fixture
def market(db):
    m = Market(db)
    db.commit()
    return m


def test_empty_market_gives_empty_lists(client):
    data = expect(client.get(f"{API}/market/sales"), 200)
    assert assert_list(data) == [] and data["total"] == 0
    assert expect(client.get(f"{API}/market/index"), 200) == {"items": []}
    assert expect(client.get(f"{API}/market/index?interval=quarter&kind=trademark"),
                  200) == {"items": []}


def test_sales_shape_and_no_buyer(client, db, market):
    lid = market.sale("812500.00", dt.date(2026, 8, 3), value="1000000.00",
                      classification="G06F 16/00")
    market.sale("400000.00", dt.date(2026, 8, 1), settle=False)  # awaiting payment: not a sale
    db.commit()
    data = expect(client.get(f"{API}/market/sales"), 200)  # no token needed
    items = assert_list(data)
    assert data["total"] == 1 and len(items) == 1
    sale = items[0]
    assert SALE_KEYS <= set(sale), sale
    assert sale["listing_id"] == lid and sale["mode"] == "auction"
    assert sale["kinds"] == ["invention_patent"] and sale["classification"] == "G06F 16/00"
    assert sale["price"] == "812500.00" and sale["value"] == "1000000.00"
    assert sale["price_to_value"] == "0.8125" and sale["settled_on"] == "2026-08-03"
    no_buyer(data, market)


def test_filters_paging_and_dates(client, db, market):
    market.sale("100000.00", dt.date(2025, 1, 10), kind="trademark", classification="Nice 9")
    market.sale("200000.00", dt.date(2025, 5, 10), kind="invention_patent",
                classification="H01M 4/04")
    market.sale("300000.00", dt.date(2025, 9, 10), kind="invention_patent",
                classification="H01L 21/00")
    both = [market.asset(kind="software_copyright", classification="G06T 7/00"),
            market.asset(kind="trademark", classification="Nice 42")]
    market.sale("400000.00", dt.date(2025, 12, 31), assets=both)
    db.commit()

    def prices(query, **kw):
        return [i["price"] for i in expect(client.get(f"{API}/market/sales?{query}"), 200)
                ["items"]]

    assert prices("") == ["400000.00", "300000.00", "200000.00", "100000.00"]  # newest first
    assert prices("kind=trademark") == ["400000.00", "100000.00"]  # any asset of that kind
    assert prices("classification=H01") == ["300000.00", "200000.00"]
    assert prices("classification=Nice%204") == ["400000.00"]
    assert prices("from=2025-05-10&to=2025-12-31") == ["400000.00", "300000.00", "200000.00"]
    assert prices("to=2025-05-09") == ["100000.00"]
    page = expect(client.get(f"{API}/market/sales?per_page=2&page=2"), 200)
    assert assert_list(page, per_page=2, page=2) and page["total"] == 4
    assert [i["price"] for i in page["items"]] == ["200000.00", "100000.00"]
    assert expect(client.get(f"{API}/market/sales?per_page=500"), 200)["per_page"] == 100
    two = expect(client.get(f"{API}/market/sales?kind=software_copyright"), 200)["items"]
    assert two[0]["kinds"] == ["software_copyright", "trademark"]
    assert two[0]["value"] == "2000000.00" and two[0]["price_to_value"] == "0.2000"


@pytest.mark.parametrize("query", [
    "from=2025-13-01", "to=yesterday", "from=1989-12-31", "to=2200-01-01", "kind=spaceship",
    "page=0", "per_page=abc"])
def test_sales_bad_query_is_422(client, query):
    expect(client.get(f"{API}/market/sales?{query}"), 422)


@pytest.mark.parametrize("query", ["interval=month", "interval=", "kind=spaceship"])
def test_index_bad_query_is_422(client, query):
    expect(client.get(f"{API}/market/index?{query}"), 422)


def test_index_equals_a_hand_computation(client, db, market):
    # Values are 1,000,000, so each ratio is the price / 1e6.
    q3 = ["700000.00", "810000.00", "905000.00", "1200000.00", "650000.00"]
    for i, price in enumerate(q3):
        market.sale(price, dt.date(2026, 7, 1) + dt.timedelta(days=20 * i))
    market.sale("880000.00", dt.date(2026, 4, 1))  # Q2: a single sale
    market.sale("500000.00", dt.date(2026, 10, 1))
    market.sale("300000.00", dt.date(2026, 11, 2), kind="trademark", classification="Nice 7")
    db.commit()
    items = expect(client.get(f"{API}/market/index?interval=quarter"), 200)["items"]
    assert [i["period"] for i in items] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    q2, q3i, q4 = items
    assert q2 == {"period": "2026-Q2", "n": 1, "median_price_to_value": "0.8800",
                  "p25": "0.8800", "p75": "0.8800", "volume": "880000.00"}
    # By hand: sorted ratios 0.65 0.70 0.81 0.905 1.20; inclusive quartiles sit at
    # positions 1, 2, 3 of 0..4: p25 = 0.70, median = 0.81, p75 = 0.905.
    assert q3i == {"period": "2026-Q3", "n": 5, "median_price_to_value": "0.8100",
                   "p25": "0.7000", "p75": "0.9050", "volume": "4265000.00"}
    # Two sales: 0.30 and 0.50 → p25 = 0.30 + 0.25 × 0.20 = 0.35, median 0.40, p75 0.45.
    assert q4 == {"period": "2026-Q4", "n": 2, "median_price_to_value": "0.4000",
                  "p25": "0.3500", "p75": "0.4500", "volume": "800000.00"}
    ratios = sorted(D(p) / D("1000000") for p in q3)
    assert [four(x) for x in statistics.quantiles(ratios, n=4, method="inclusive")] == [
        D(q3i["p25"]), D(q3i["median_price_to_value"]), D(q3i["p75"])]
    only = expect(client.get(f"{API}/market/index?kind=trademark"), 200)["items"]
    assert only == [{"period": "2026-Q4", "n": 1, "median_price_to_value": "0.3000",
                     "p25": "0.3000", "p75": "0.3000", "volume": "300000.00"}]


def test_quarter_follows_the_market_time_zone(client, db, market):
    lid = market.sale("500000.00", dt.date(2026, 9, 30))
    st = db.query(Settlement).filter_by(listing_id=lid).one()
    st.settled_at = dt.datetime(2026, 9, 30, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 on 1 Oct
    db.commit()
    assert expect(client.get(f"{API}/market/sales"), 200)["items"][0]["settled_on"] == \
        "2026-10-01"
    assert expect(client.get(f"{API}/market/index"), 200)["items"][0]["period"] == "2026-Q4"


def test_licences_are_not_sales(client, db, market):
    market.sale("300000.00", dt.date(2026, 3, 1), mode="licensing")
    market.sale("600000.00", dt.date(2026, 3, 2), mode="transfer")
    db.commit()
    items = expect(client.get(f"{API}/market/sales"), 200)["items"]
    assert [(i["mode"], i["price"]) for i in items] == [("transfer", "600000.00")]


def test_sale_without_valid_valuation_has_no_ratio(client, db, market):
    market.sale("500000.00", dt.date(2026, 3, 1), value=None)
    db.commit()
    item = expect(client.get(f"{API}/market/sales"), 200)["items"][0]
    assert item["value"] is None and item["price_to_value"] is None
    idx = expect(client.get(f"{API}/market/index"), 200)["items"]
    assert idx == [{"period": "2026-Q1", "n": 1, "median_price_to_value": None, "p25": None,
                    "p75": None, "volume": "500000.00"}]


# ---------------------------------------------------------------- price guide

def guide(api, asset_id):
    return api.get(f"{API}/assets/{asset_id}/price-guide")


def test_price_guide_permission(client, db, actors, market):
    a = market.asset(owner=market.seller)
    db.commit()
    expect(client.get(f"{API}/assets/{a.id}/price-guide"), 401)
    expect(guide(actors.api("investor"), a.id), 403)
    # Whoever may add the asset's valuations (API.md "Assets"): its owner, the bank that
    # registered it, an operator; anyone else is not told it exists.
    expect(guide(actors.api("operator"), a.id), 200)
    expect(guide(actors.api("owner"), a.id), 404)  # another organisation's asset
    expect(guide(actors.api("owner", org=market.seller.name), a.id), 200)
    expect(guide(actors.api("bank"), a.id), 404)  # a bank with no part in it
    bank = actors.api("operator")
    expect(guide(bank, 999999), 404)
    expect(guide(bank, "99999999999999999999"), 404)
    expect(guide(actors.api("investor"), 999999), 403)  # the role is checked first


def test_price_guide_from_comparables(db, actors, market):
    today = dt.date.today()
    # Comparables: same kind, classification sharing "G06F"; newest first, at most 10.
    for i in range(12):
        market.sale(str(D("500000.00") + D(i * 50000)), today - dt.timedelta(days=40 - i),
                    classification=f"G06F {i}/00")
    market.sale("2000000.00", today - dt.timedelta(days=1), classification="G06K 9/00")
    market.sale("2000000.00", today - dt.timedelta(days=1), kind="trademark",
                classification="G06F")
    a = market.asset(value="777777.77", classification="G06F 17/30",
                     valued_on=today - dt.timedelta(days=5))
    db.commit()
    bank = actors.api("operator")
    g = expect(guide(bank, a.id), 200)
    assert g["value"] == "777777.77" and g["floor"] == "544444.44"  # 70% (544,444.439), up to the fen
    comps = g["comparables"]
    assert len(comps) == 10 and all(SALE_KEYS <= set(c) for c in comps)
    assert [c["price"] for c in comps] == [f"{500000 + i * 50000}.00" for i in range(11, 1, -1)]
    ratios = sorted(D(c["price_to_value"]) for c in comps)
    med = four(statistics.median(ratios))
    assert g["median_price_to_value"] == str(med)
    expected = max(D("544444.44"), D("777777.77") * med).quantize(D("1"), rounding=ROUND_DOWN)
    assert g["suggested_start_price"] == f"{expected}.00"
    assert D(g["suggested_start_price"]) >= D(g["floor"])
    no_buyer(g, market)


def test_suggestion_never_below_the_floor(db, actors, market):
    today = dt.date.today()
    market.sale("100000.00", today - dt.timedelta(days=3))  # ratio 0.10
    a = market.asset(value="1000000.01", valued_on=today - dt.timedelta(days=5))
    db.commit()
    g = expect(guide(actors.api("operator"), a.id), 200)
    assert g["median_price_to_value"] == "0.1000"
    # 70% of 1,000,000.01 is 700,000.01: rounding down to the yuan must not go below it.
    assert g["floor"] == "700000.01" and g["suggested_start_price"] == "700000.01"


def test_floor_is_never_rounded_below_70_percent(db, actors, market):
    a = market.asset(value="1000000.03", valued_on=dt.date.today() - dt.timedelta(days=5))
    db.commit()
    g = expect(guide(actors.api("operator"), a.id), 200)
    # 70% is 700,000.021: half-up would give 700,000.02, below it; the floor is .03.
    assert g["floor"] == "700000.03" and g["suggested_start_price"] == "700000.03"
    assert D(g["suggested_start_price"]) >= D("1000000.03") * D("0.70")


def test_no_comparables_gives_the_floor(db, actors, market):
    today = dt.date.today()
    market.sale("900000.00", today - dt.timedelta(days=3), kind="trademark")
    a = market.asset(value="500000.00", classification=None,
                     valued_on=today - dt.timedelta(days=5), kind="design_patent")
    db.commit()
    g = expect(guide(actors.api("operator"), a.id), 200)
    assert g == {"value": "500000.00", "floor": "350000.00", "comparables": [],
                 "median_price_to_value": None, "suggested_start_price": "350000.00"}


def test_no_classification_takes_any(db, actors, market):
    today = dt.date.today()
    market.sale("900000.00", today - dt.timedelta(days=3), classification="A01B")
    a = market.asset(value="1000000.00", classification=None,
                     valued_on=today - dt.timedelta(days=5))
    db.commit()
    g = expect(guide(actors.api("operator"), a.id), 200)
    assert len(g["comparables"]) == 1 and g["median_price_to_value"] == "0.9000"
    assert g["suggested_start_price"] == "900000.00"


def test_no_valid_valuation_gives_nulls(db, actors, market):
    today = dt.date.today()
    market.sale("900000.00", today - dt.timedelta(days=3))
    stale = market.asset(value="1000000.00", valued_on=dt.date(2000, 1, 1))  # expired 2009
    none = market.asset(value=None)
    db.commit()
    bank = actors.api("operator")
    nulls = {"value": None, "floor": None, "comparables": None,
             "median_price_to_value": None, "suggested_start_price": None}
    assert expect(guide(bank, stale.id), 200) == nulls
    assert expect(guide(bank, none.id), 200) == nulls


def test_floor_follows_the_floor_ratio_setting(db, actors, market):
    a = market.asset(value="1000000.00", valued_on=dt.date.today() - dt.timedelta(days=5))
    settings_store.put(db, "start_price_floor_ratio", "0.80", actor_id=None)
    db.commit()
    g = expect(guide(actors.api("operator"), a.id), 200)
    assert is_money(g["floor"]) and g["floor"] == "800000.00"
    assert g["suggested_start_price"] == "800000.00"
