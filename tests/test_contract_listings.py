"""Contract (API.md "Listings"), black box: create/echo, rule codes, transitions, costs, search."""
from __future__ import annotations

import pytest

from tests.contract_helpers import API, World, check_cases, expect, instant


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _own_listings(api) -> int:
    return expect(api.get(f"{API}/listings?per_page=100"), 200)["total"]


def test_create_echoes_fields_with_id_status_auction_id_reject_reason(world):
    """API.md Listings: 201 with the fields it was created with plus id, status draft,
    auction_id and reject_reason; extension_window_s/extension_s any positive integers."""
    a, ln = world.collateral()
    data = world.listing_body([a["id"]], ln["id"], reserve_price="750000.00", allow_proxy=True,
                              extension_window_s=7, extension_s=1,
                              backstop={"org_id": world.fund["org_id"], "price": "700000.00"})
    got = world.listing(world.bank, data)
    assert isinstance(got["id"], int) and got["status"] == "draft", got
    assert "auction_id" in got and got["auction_id"] is None, got
    assert "reject_reason" in got and got["reject_reason"] is None, got
    for k in ("title", "description", "asset_ids", "mode", "loan_id"):
        assert got[k] == data[k], (k, got)
    auc = got["auction"]
    for k in ("start_price", "increment", "deposit", "reserve_price", "allow_proxy",
              "extension_window_s", "extension_s", "backstop"):
        assert auc.get(k) == data["auction"][k], (k, auc)
    for k in ("starts_at", "ends_at"):
        assert instant(auc[k]) == instant(data["auction"][k]), (k, auc)
    again = expect(world.bank.get(f"{API}/listings/{got['id']}"), 200)
    assert again["auction"]["extension_s"] == 1 and again["auction"]["extension_window_s"] == 7
    # Defaults: allow_proxy false, 300/300.
    b = world.asset(title="Own patent")
    got = world.listing(world.owner, world.listing_body([b["id"]]))
    assert got["auction"]["allow_proxy"] is False, got
    assert got["auction"]["extension_window_s"] == 300 and got["auction"]["extension_s"] == 300
    assert got.get("loan_id") is None
    # Every mode can be listed.
    for mode in ("transfer", "licensing", "equity"):
        c = world.asset(title=f"mode {mode}")
        data = world.listing_body([c["id"]], mode=mode)
        if mode == "equity":  # API.md "Equity contribution": valued IP, a minimum valuation
            world.value(c["id"], "1000000.00")
            data["equity"] = {"min_valuation": "700000.00"}
        got = world.listing(world.owner, data)
        assert got["mode"] == mode and got["status"] == "draft", got


def test_rule_codes_on_create_write_nothing(world):
    """API.md Listings / 法释〔2016〕18号: floor 70% of a valid appraisal, deposit 5–20%,
    bidding ≥ MARKET_MIN_AUCTION_SECONDS (24 h default), assets in force."""
    a_nv, ln_nv = world.collateral(value=None)
    a, ln = world.collateral(value="1000000.00")
    lapsed = world.asset(legal_status="lapsed", title="已失效专利")
    bank, owner = world.bank, world.owner
    before_bank, before_owner = _own_listings(bank), _own_listings(owner)
    check_cases([
        (bank, "POST", "/listings", world.listing_body([a_nv["id"]], ln_nv["id"]), 422,
         "no_valid_valuation"),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"], start="690000.00",
                                                         deposit="69000.00"),
         422, "start_price_below_floor"),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"], deposit="34990.00"),
         422, "deposit_out_of_range"),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"], deposit="140010.00"),
         422, "deposit_out_of_range"),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"], lasts=86399), 422,
         "auction_too_short"),
        (owner, "POST", "/listings", world.listing_body([lapsed["id"]]), 422,
         "asset_not_in_force"),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"],
                                                         extension_s=0), 422),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"],
                                                         extension_window_s=-5), 422),
        (bank, "POST", "/listings", world.listing_body([a["id"]], ln["id"],
                                                         extension_s="soon"), 422),
        (bank, "POST", "/listings", {**world.listing_body([a["id"]], ln["id"]), "x": 1}, 422),
        (bank, "POST", "/listings", {**world.listing_body([a["id"]], ln["id"]),
                                     "mode": "raffle"}, 422),
        (world.investor, "POST", "/listings", world.listing_body([a["id"]], ln["id"]), 403),
    ])
    assert _own_listings(bank) == before_bank and _own_listings(owner) == before_owner
    # The boundaries pass: exactly 70%, 5% and 20%, exactly 24 h.
    for terms in ({"start": "700000.00", "deposit": "35000.00"},
                  {"start": "700000.00", "deposit": "140000.00", "lasts": 86400}):
        b, ln2 = world.collateral()
        world.listing(bank, world.listing_body([b["id"]], ln2["id"], **terms))


def test_loan_listing_must_be_callers_defaulted_loan_pledging_exactly_these_assets(world):
    """API.md Listings: with loan_id the loan must be the caller's, defaulted, and pledge
    exactly these assets."""
    a = world.asset()
    world.value(a["id"])
    performing = world.loan([a["id"]])
    b, ln = world.collateral()
    extra = world.asset(title="另一项专利")
    world.value(extra["id"])
    bank = world.bank
    for data in (world.listing_body([a["id"]], performing["id"]),
                 world.listing_body([b["id"], extra["id"]], ln["id"]),
                 world.listing_body([extra["id"]], ln["id"])):
        expect(bank.post(f"{API}/listings", json=data), 422)
    resp = world.bank2.post(f"{API}/listings", json=world.listing_body([b["id"]], ln["id"]))
    assert resp.status_code in (403, 404, 422), resp.get_json()
    world.listing(bank, world.listing_body([b["id"]], ln["id"]))


def test_transitions(world):
    """API.md Listings: submit → pending_review; approve → published (auction_id set);
    reject {reason} → rejected, reason kept; withdraw by its creator before any bid."""
    a, ln = world.collateral()
    lst = world.listing(world.bank, world.listing_body([a["id"]], ln["id"]))
    lid = lst["id"]
    expect(world.operator.post(f"{API}/listings/{lid}/submit"), 403)
    # Another bank cannot see a draft: 404 before any state check.
    expect(world.bank2.post(f"{API}/listings/{lid}/submit"), 404)
    expect(world.bank2.get(f"{API}/listings/{lid}"), 404)
    expect(world.anon.get(f"{API}/listings/{lid}"), 404)
    expect(world.operator.post(f"{API}/listings/{lid}/approve"), 409)  # a draft
    got = expect(world.bank.post(f"{API}/listings/{lid}/submit"), 200)
    assert got["status"] == "pending_review" and got["id"] == lid
    expect(world.bank.post(f"{API}/listings/{lid}/submit"), 409)  # twice
    expect(world.bank.post(f"{API}/listings/{lid}/approve"), 403)
    got = expect(world.operator.post(f"{API}/listings/{lid}/approve"), 200)
    assert got["status"] == "published" and isinstance(got["auction_id"], int), got
    auc = world.auction(got["auction_id"])
    assert auc["listing_id"] == lid and auc["round"] == 1 and auc["status"] == "scheduled"
    assert auc["stage"] == "auction"
    # Approving again is a state conflict.
    expect(world.operator.post(f"{API}/listings/{lid}/approve"), 409)
    # Withdraw before any bid.
    got = expect(world.bank.post(f"{API}/listings/{lid}/withdraw"), 200)
    assert got["status"] != "published", got
    assert expect(world.anon.get(f"{API}/auctions/{auc['id']}"), 200)["status"] in (
        "cancelled",), "a withdrawn listing's auction is cancelled"

    b = world.asset(title="Reject me")
    lst = world.listing(world.owner, world.listing_body([b["id"]]))
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 200)
    expect(world.operator.post(f"{API}/listings/{lst['id']}/reject", json={}), 422)
    expect(world.operator.post(f"{API}/listings/{lst['id']}/reject", json={"reason": 7}), 422)
    got = expect(world.operator.post(f"{API}/listings/{lst['id']}/reject",
                                     json={"reason": "评估报告已过期"}), 200)
    assert got["status"] == "rejected" and got["reject_reason"] == "评估报告已过期", got
    again = expect(world.owner.get(f"{API}/listings/{lst['id']}"), 200)
    assert again["reject_reason"] == "评估报告已过期"
    # The public does not see a rejected listing.
    expect(world.anon.get(f"{API}/listings/{lst['id']}"), 404)

    c = world.asset(title="Withdraw draft")
    lst = world.listing(world.owner, world.listing_body([c["id"]]))
    expect(world.owner2.post(f"{API}/listings/{lst['id']}/withdraw"), 404)
    expect(world.owner.post(f"{API}/listings/{lst['id']}/withdraw"), 200)


def test_listing_costs(world):
    """API.md Listings: POST /listings/{id}/costs (the listing's bank, or an operator)."""
    a, ln = world.collateral()
    lst = world.listing(world.bank, world.listing_body([a["id"]], ln["id"]))
    url = f"{API}/listings/{lst['id']}/costs"
    for who in (world.bank, world.operator):
        r = who.post(url, json={"amount": "3000.00", "description": "公告费"})
        assert r.status_code in (200, 201), r.get_json()
    check_cases([
        (world.investor, "POST", f"/listings/{lst['id']}/costs",
         {"amount": "1.00", "description": "x"}, 403),
        (world.bank2, "POST", f"/listings/{lst['id']}/costs",
         {"amount": "1.00", "description": "x"}, 404),
        (world.bank, "POST", f"/listings/{lst['id']}/costs",
         {"amount": "-1.00", "description": "x"}, 422),
        (world.bank, "POST", f"/listings/{lst['id']}/costs",
         {"amount": "1.001", "description": "x"}, 422),
    ])


def test_search_chinese_english_and_filters(world):
    """API.md Listings: q matches Chinese and English (two-character words included);
    mode/kind/status filters; the public sees published listings only."""
    gear = world.asset(title="一种行星齿轮减速器", kind="invention_patent",
                       abstract="Planetary gear reducer for industrial robots")
    soft = world.asset(title="工业视觉检测软件 V2.0", kind="software_copyright",
                       abstract="Machine vision inspection software")
    hidden = world.asset(title="齿轮箱草稿", kind="utility_model", abstract="draft gearbox")
    g = world.publish(world.owner, world.listing_body(
        [gear["id"]], title="一种行星齿轮减速器", description="行星齿轮减速器专利拍卖"))
    s = world.publish(world.owner, world.listing_body(
        [soft["id"]], title="视觉检测软件著作权许可", description="Software licence",
        mode="licensing"))
    world.listing(world.owner, world.listing_body([hidden["id"]], title="齿轮箱草稿"))

    def ids(query):
        data = expect(world.anon.get(f"{API}/listings?{query}"), 200)
        return {item["id"] for item in data["items"]}, data

    found, data = ids("q=齿轮")
    assert found == {g["id"]}, data
    assert ids("q=减速器")[0] == {g["id"]}
    assert ids("q=gear")[0] == {g["id"]}
    assert ids("q=Planetary")[0] == {g["id"]}
    assert ids("q=软件")[0] == {s["id"]}
    assert ids("q=software")[0] == {s["id"]}
    assert ids("q=齿轮&mode=licensing")[0] == set()
    assert ids("mode=auction")[0] == {g["id"]}
    assert ids("mode=licensing")[0] == {s["id"]}
    assert ids("kind=software_copyright")[0] == {s["id"]}
    assert ids("kind=invention_patent")[0] == {g["id"]}
    assert ids("status=published")[0] == {g["id"], s["id"]}
    assert ids("")[0] == {g["id"], s["id"]}
    assert ids("q=区块链")[0] == set()
    expect(world.anon.get(f"{API}/listings?mode=raffle"), 422)


def test_rules_checked_again_on_submit_and_approve_with_the_latest_valid_valuation(world):
    """API.md Listings: rules checked on create and again on submit and approve; API.md
    Assets: the value on a date is the latest valuation valid that day (动态评估)."""
    import datetime as dt

    from tests.contract_helpers import market_today

    today = market_today()
    a, ln = world.collateral(value="1000000.00")
    lst = world.listing(world.bank, world.listing_body([a["id"]], ln["id"]))
    # A newer appraisal at 1,100,000 lifts the 70% floor to 770,000: submit is refused.
    # (The asset is pledged: the pledgee's valuation counts, issue 13.)
    world.value(a["id"], "1100000.00", valued_on=today - dt.timedelta(days=10), who=world.bank)
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 422, "start_price_below_floor")
    assert expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "draft"

    b, ln2 = world.collateral(value="1000000.00")
    lst2 = world.listing(world.bank, world.listing_body([b["id"]], ln2["id"]))
    expect(world.bank.post(f"{API}/listings/{lst2['id']}/submit"), 200)
    world.value(b["id"], "1100000.00", valued_on=today - dt.timedelta(days=10), who=world.bank)
    expect(world.operator.post(f"{API}/listings/{lst2['id']}/approve"), 422,
           "start_price_below_floor")
    got = expect(world.bank.get(f"{API}/listings/{lst2['id']}"), 200)
    assert got["status"] == "pending_review" and got["auction_id"] is None, got

    # A newer appraisal that has already expired does not count: the older one does.
    c, ln3 = world.collateral(value="1000000.00")
    world.value(c["id"], "2000000.00", valued_on=today - dt.timedelta(days=10),
                valid_until=(today - dt.timedelta(days=5)).isoformat(), who=world.bank)
    world.listing(world.bank, world.listing_body([c["id"]], ln3["id"]))


def test_appraisal_older_than_a_year_is_not_valid(world):
    """API.md Assets: valid_until defaults to one year after valued_on; 法释〔2016〕18号
    needs a current appraisal → no_valid_valuation."""
    import datetime as dt

    from tests.contract_helpers import market_today

    a, ln = world.collateral(value=None)
    world.value(a["id"], "1000000.00", valued_on=market_today() - dt.timedelta(days=400))
    expect(world.bank.post(f"{API}/listings", json=world.listing_body([a["id"]], ln["id"])),
           422, "no_valid_valuation")


def test_only_what_one_may_dispose_of(world):
    """API.md Listings/Assets: an owner lists and values its own IP only; the public sees
    published listings only, whatever the status filter asks."""
    theirs = world.asset(title="别人的专利")
    r = world.owner2.post(f"{API}/listings", json=world.listing_body([theirs["id"]]))
    assert r.status_code in (403, 404, 422), (r.status_code, r.get_json())
    r = world.owner2.post(f"{API}/assets/{theirs['id']}/valuations", json={
        "amount": "1.00", "valued_on": "2026-01-01", "method": "cost", "agency": "x"})
    assert r.status_code in (403, 404), (r.status_code, r.get_json())
    draft = world.listing(world.owner, world.listing_body([theirs["id"]], title="草稿齿轮"))
    for q in ("status=draft", "status=pending_review", "q=草稿", ""):
        data = expect(world.anon.get(f"{API}/listings?{q}"), 200)
        assert draft["id"] not in {i["id"] for i in data["items"]}, (q, data)


def test_bundle_floor_is_on_the_sum_of_appraisals(world):
    """API.md Listings / 法释〔2016〕18号 / DOMAIN bundles (打包组合): the start-price floor is
    70% of the bundle's appraisals."""
    a, b = world.asset(title="bundle A"), world.asset(title="bundle B", kind="trademark")
    world.value(a["id"], "600000.00")
    world.value(b["id"], "400000.00")
    ln = world.loan([a["id"], b["id"]])
    world.default(ln["id"])
    ids = [a["id"], b["id"]]
    expect(world.bank.post(f"{API}/listings", json=world.listing_body(
        ids, ln["id"], start="690000.00", deposit="69000.00")), 422, "start_price_below_floor")
    got = world.listing(world.bank, world.listing_body(ids, ln["id"]))
    assert sorted(got["asset_ids"]) == sorted(ids)
