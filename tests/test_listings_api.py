"""POST/GET /api/v1/listings: creation rules, who may list what, visibility, costs."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from listings.models import Listing
from listings.services import disposal_costs_total
from market import settings_store
from market.assets.models import Asset, Valuation
from market.audit import AuditRecord
from tests.listing_helpers import Setup, asset, auction_terms, loan, transfer_terms


@pytest.fixture
def setup(actors, db):
    return Setup(actors, db)


def code(resp):
    return resp.status_code, resp.get_json()["error"]["code"]


def test_bank_creates_collateral_auction_as_draft_with_fields_as_created(setup):
    body = setup.collateral_body(extension_window_s=60, extension_s=30, allow_proxy=True,
                                 reserve_price="900000.00")
    lst = setup.create(body)
    assert lst["status"] == "draft" and lst["auction_id"] is None and lst["reject_reason"] is None
    assert lst["title"] == body["title"] and lst["mode"] == "auction"
    assert lst["loan_id"] == setup.loan and lst["asset_ids"] == [setup.pledged]
    a = lst["auction"]
    assert a["start_price"] == "800000.00" and a["deposit"] == "80000.00"
    assert a["increment"] == "10000.00" and a["reserve_price"] == "900000.00"
    assert a["extension_window_s"] == 60 and a["extension_s"] == 30 and a["allow_proxy"] is True
    assert dt.datetime.fromisoformat(a["starts_at"]) == dt.datetime.fromisoformat(
        body["auction"]["starts_at"])
    assert lst["assets"][0]["registry_no"].startswith("ZL")
    got = setup.bank.get(f"/api/v1/listings/{lst['id']}").get_json()
    assert got == lst


def test_extension_defaults_to_300_seconds(setup):
    a = setup.create()["auction"]
    assert a["extension_window_s"] == 300 and a["extension_s"] == 300


def test_auth_order_401_403_422_404(setup, client):
    body = setup.collateral_body()
    assert client.post("/api/v1/listings", json=body).status_code == 401
    assert code(setup.investor.post("/api/v1/listings", json=body)) == (403, "forbidden")
    assert code(setup.operator.post("/api/v1/listings", json=body)) == (403, "forbidden")
    assert setup.bank.post("/api/v1/listings", json={**body, "colour": "red"}).status_code == 422
    bad = {**body, "auction": {**body["auction"], "start_price": "-1"}}
    assert setup.bank.post("/api/v1/listings", json=bad).status_code == 422
    assert code(setup.bank.post("/api/v1/listings", json={**body, "asset_ids": [999999]})) == \
        (404, "not_found")
    assert setup.bank.client.post("/api/v1/listings", data="{nope", headers=setup.bank.headers,
                                  content_type="application/json").status_code == 422


# ---------------------------------------------------------------- rules (each names its source)

def test_no_valid_valuation(setup, db):
    """法释〔2016〕18号: the start price is set against a current appraisal; none → refused."""
    a = db.get(Asset, setup.pledged)
    for v in a.valuations:
        v.valid_until = dt.date.today() - dt.timedelta(days=1)
    db.commit()
    assert code(setup.bank.post("/api/v1/listings", json=setup.collateral_body())) == \
        (422, "no_valid_valuation")
    assert db.scalar(select(Listing)) is None


def test_start_price_below_floor(setup):
    """法释〔2016〕18号: start price ≥ 70% of the latest valid appraisal (1,000,000 → 700,000)."""
    body = setup.collateral_body(start="699999.99", deposit="70000.00")
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "start_price_below_floor")
    ok = setup.collateral_body(start="700000.00", deposit="70000.00")
    assert setup.bank.post("/api/v1/listings", json=ok).status_code == 201


def test_floor_uses_latest_valuation_valid_on_start_date(setup, db):
    """DOMAIN.md 动态评估: the latest valid valuation counts (a newer, lower one lowers the floor)."""
    db.add(Valuation(asset_id=setup.pledged, amount=Decimal("500000.00"), method="market",
                     agency="新评估", valued_on=dt.date.today() - dt.timedelta(days=2),
                     valid_until=dt.date.today() + dt.timedelta(days=300),
                     created_at=dt.datetime.now(dt.timezone.utc)))
    db.commit()
    body = setup.collateral_body(start="350000.00", deposit="35000.00", increment="1000.00")
    assert setup.bank.post("/api/v1/listings", json=body).status_code == 201


@pytest.mark.parametrize("deposit", ["39999.99", "160000.01"])
def test_deposit_out_of_range(setup, deposit):
    """法释〔2016〕18号: deposit 5%–20% of the starting price (800,000 → 40,000–160,000)."""
    body = setup.collateral_body(deposit=deposit)
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "deposit_out_of_range")


@pytest.mark.parametrize("deposit", ["40000.00", "160000.00"])
def test_deposit_bounds_are_inclusive(setup, deposit):
    """法释〔2016〕18号: exactly 5% and exactly 20% are allowed."""
    assert setup.bank.post("/api/v1/listings",
                           json=setup.collateral_body(deposit=deposit)).status_code == 201


def test_auction_too_short(setup):
    """法释〔2016〕18号: bidding lasts at least 24 hours (MARKET_MIN_AUCTION_SECONDS)."""
    body = setup.collateral_body(duration=dt.timedelta(seconds=86399))
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "auction_too_short")
    body = setup.collateral_body(duration=dt.timedelta(seconds=86400))
    assert setup.bank.post("/api/v1/listings", json=body).status_code == 201


def test_ends_before_start(setup):
    """Common sense of 法释〔2016〕18号 timing: an auction ends after it starts."""
    body = setup.collateral_body(duration=dt.timedelta(seconds=-60))
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "ends_before_start")


def test_increment_not_positive(setup):
    """法释〔2016〕18号: bids rise in whole multiples of a (positive) increment."""
    body = setup.collateral_body(increment="0.00")
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "increment_not_positive")


def test_reserve_below_start(setup):
    """拍卖法 / DOMAIN.md: a reserve below the start price would be meaningless."""
    body = setup.collateral_body(reserve_price="799999.99")
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "reserve_below_start")


def test_backstop_above_start(setup):
    """DOMAIN.md 托底式收购: the fund commits to buy at a floor, not above the start price."""
    org = setup.investor.user["org_id"]
    body = setup.collateral_body(backstop={"org_id": org, "price": "800000.01"})
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "backstop_above_start")
    # API.md "Backstop purchase": the price is at least the floor (70% of 1,000,000).
    body = setup.collateral_body(backstop={"org_id": org, "price": "699999.99"})
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "start_price_below_floor")
    body = setup.collateral_body(backstop={"org_id": org, "price": "700000.00"})
    lst = setup.create(body)
    assert lst["auction"]["backstop"] == {"org_id": org, "price": "700000.00"}


@pytest.mark.parametrize("status", ["lapsed", "invalid", "expired"])
def test_asset_not_in_force(setup, db, status):
    """专利权质押登记办法 / DOMAIN.md: an asset that is not in force cannot be disposed of."""
    db.get(Asset, setup.pledged).legal_status = status
    db.commit()
    assert code(setup.bank.post("/api/v1/listings", json=setup.collateral_body())) == \
        (422, "asset_not_in_force")


def test_asset_past_expiry_not_in_force(setup, db):
    """专利法 42: protection ends at expiry; an expired asset is not in force."""
    db.get(Asset, setup.own).expires_on = dt.date.today() - dt.timedelta(days=1)
    db.commit()
    body = {"title": "转让", "mode": "transfer", "asset_ids": [setup.own], "transfer": transfer_terms("1.00")}
    assert code(setup.owner.post("/api/v1/listings", json=body)) == (422, "asset_not_in_force")


# ---------------------------------------------------------------- loans and ownership

def test_loan_must_be_defaulted(setup, db):
    """民法典 436: the pledgee disposes of the collateral only after the debt is not paid."""
    a = asset(db, setup.owner.user["org_id"])
    performing = loan(db, setup.bank.user["org_id"], setup.owner.user["org_id"], [a],
                      status="performing")
    body = {**setup.collateral_body(), "loan_id": performing, "asset_ids": [a]}
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "loan_not_defaulted")


def test_assets_must_be_exactly_the_pledged_ones(setup, db):
    """民法典 436: only the collateral of this loan may be disposed of under it."""
    extra = asset(db, setup.owner.user["org_id"])
    body = {**setup.collateral_body(), "asset_ids": [setup.pledged, extra]}
    assert code(setup.bank.post("/api/v1/listings", json=body)) == \
        (422, "assets_not_pledged_to_loan")
    body = {**setup.collateral_body(), "asset_ids": [setup.own]}
    assert code(setup.bank.post("/api/v1/listings", json=body)) == \
        (422, "assets_not_pledged_to_loan")


def test_another_banks_loan_is_404(setup, actors):
    other = actors.api("bank", org="江南商业银行")
    assert code(other.post("/api/v1/listings", json=setup.collateral_body())) == (404, "not_found")
    body = {**setup.collateral_body(), "loan_id": 987654}
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (404, "not_found")


def test_owner_cannot_list_pledged_asset(setup):
    """专利权质押登记办法: pledged IP is disposed of by the pledgee, not sold by the owner."""
    body = {"title": "转让", "mode": "transfer", "asset_ids": [setup.pledged],
            "transfer": transfer_terms("100000.00")}
    assert code(setup.owner.post("/api/v1/listings", json=body)) == (422, "asset_pledged")


def test_owner_cannot_list_others_assets(setup, actors):
    other = actors.api("owner", org="别家公司")
    body = {"title": "转让", "mode": "transfer", "asset_ids": [setup.own], "transfer": transfer_terms("1.00")}
    assert code(other.post("/api/v1/listings", json=body)) == (403, "asset_not_owned")
    assert code(setup.bank.post("/api/v1/listings", json=body)) == (403, "asset_not_owned")


def test_owner_lists_own_asset_in_each_mode(setup):
    for mode in ("transfer", "licensing"):  # equity: tests/test_equity.py
        body = {"title": f"{mode} 齿轮箱", "mode": mode, "asset_ids": [setup.own],
                "ask_price": "420000.00"}
        if mode == "licensing":
            body["licensing"] = {"kind": "sole", "term_months": 24, "upfront_fee": "420000.00"}
        if mode == "transfer":  # its terms replace the asking price (list_price)
            body = {**body, "ask_price": None, "transfer": transfer_terms("420000.00")}
        lst = setup.create(body, setup.owner)
        assert lst["mode"] == mode and lst["ask_price"] == "420000.00" and lst["auction"] is None
    body = {"title": "拍卖", "mode": "auction", "asset_ids": [setup.own],
            "auction": auction_terms(start="100000.00", deposit="10000.00", increment="1000.00")}
    assert setup.create(body, setup.owner)["auction"]["start_price"] == "100000.00"


def test_auction_needs_terms_and_others_refuse_them(setup):
    body = {"title": "拍卖", "mode": "auction", "asset_ids": [setup.own]}
    assert code(setup.owner.post("/api/v1/listings", json=body)) == (422, "auction_terms_required")
    body = {"title": "转让", "mode": "transfer", "asset_ids": [setup.own],
            "auction": auction_terms()}
    assert code(setup.owner.post("/api/v1/listings", json=body)) == \
        (422, "auction_terms_not_allowed")


# ---------------------------------------------------------------- visibility

def test_drafts_are_invisible_to_outsiders(setup, client, actors):
    lst = setup.create()
    url = f"/api/v1/listings/{lst['id']}"
    assert client.get(url).status_code == 404
    assert setup.investor.get(url).status_code == 404
    assert actors.api("bank", org="另一家银行").get(url).status_code == 404
    assert setup.operator.get(url).status_code == 200
    assert setup.bank.get(url).status_code == 200
    assert client.get("/api/v1/listings/99999999999").status_code == 404


def test_list_visibility_public_own_operator(setup, client):
    draft = setup.create()
    pub = setup.publish({"title": "公开转让", "mode": "transfer", "asset_ids": [setup.own],
                         "transfer": transfer_terms("1000.00")}, setup.owner)
    public_ids = [i["id"] for i in client.get("/api/v1/listings").get_json()["items"]]
    assert public_ids == [pub["id"]]
    assert [i["id"] for i in setup.investor.get("/api/v1/listings").get_json()["items"]] == \
        [pub["id"]]
    bank_ids = {i["id"] for i in setup.bank.get("/api/v1/listings").get_json()["items"]}
    assert bank_ids == {draft["id"], pub["id"]}
    op = setup.operator.get("/api/v1/listings").get_json()
    assert op["total"] == 2 and op["page"] == 1 and op["per_page"] == 20
    assert client.get("/api/v1/listings?status=draft").get_json()["total"] == 0
    assert setup.operator.get("/api/v1/listings?status=draft").get_json()["total"] == 1
    assert client.get("/api/v1/listings?per_page=500").get_json()["per_page"] == 100


# ---------------------------------------------------------------- costs

def test_disposal_costs(setup, app, actors, db):
    lst = setup.create()
    url = f"/api/v1/listings/{lst['id']}/costs"
    r = setup.bank.post(url, json={"amount": "12000.50", "description": "评估费"})
    assert r.status_code == 201 and r.get_json()["amount"] == "12000.50"
    assert setup.operator.post(url, json={"amount": "3000.00",
                                          "description": "公告费"}).status_code == 201
    assert code(setup.investor.post(url, json={"amount": "1.00", "description": "x"})) == \
        (403, "forbidden")
    assert code(setup.owner.post(url, json={"amount": "1.00", "description": "x"})) == \
        (403, "forbidden")
    assert code(actors.api("bank", org="他行").post(url, json={"amount": "1.00",
                                                             "description": "x"})) == \
        (404, "not_found")
    assert setup.bank.post(url, json={"amount": "abc", "description": "x"}).status_code == 422
    assert setup.bank.post(url, json={"amount": "1.001", "description": "x"}).status_code == 422
    assert code(setup.bank.post(url, json={"amount": "0.00", "description": "x"})) == \
        (422, "amount_not_positive")
    with app.app_context():
        assert disposal_costs_total(db, lst["id"]) == Decimal("15000.50")
    body = setup.bank.get(url).get_json()
    assert body["total"] == 2 and body["total_amount"] == "15000.50"
    assert db.scalar(select(AuditRecord).where(AuditRecord.action == "listing.cost")) is not None


# ---------------------------------------------------------------- settings

def test_floor_ratio_is_an_operator_setting(setup, app, db):
    """法释〔2016〕18号 floor (70%) is a setting: raised to 90%, an 800,000 start is refused."""
    with app.app_context():
        settings_store.put(db, "start_price_floor_ratio", "0.90", actor_id=None)
        db.commit()
    assert code(setup.bank.post("/api/v1/listings", json=setup.collateral_body())) == \
        (422, "start_price_below_floor")


class TestMinAuctionFromConfig:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 3600}

    def test_min_auction_seconds_comes_from_app_config(self, setup):
        """法释〔2016〕18号 minimum duration defaults to MARKET_MIN_AUCTION_SECONDS."""
        body = setup.collateral_body(duration=dt.timedelta(seconds=3600))
        assert setup.bank.post("/api/v1/listings", json=body).status_code == 201
        body = setup.collateral_body(duration=dt.timedelta(seconds=3599))
        assert code(setup.bank.post("/api/v1/listings", json=body)) == (422, "auction_too_short")
