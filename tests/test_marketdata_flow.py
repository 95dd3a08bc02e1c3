"""Market data from a real sale: an owner's auction, bid, closed by the scheduler, paid
and settled through the API; the sale then shows in /market/sales (with its round, and
nothing of the buyer), in the index and as a comparable — every response as documented."""
from __future__ import annotations

import json

import pytest

from tests.contract_helpers import (API, ResponseRecorder, World, expect, instant,
                                    market_today, sleep_until)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 2}


def test_a_settled_auction_is_market_evidence(app, actors):
    recorder = ResponseRecorder(app)  # before the app's first request
    world = World(app, actors)
    owner, inv, inv2, anon = world.owner, world.investor, world.investor2, world.anon
    a = world.asset(title="一种行星齿轮减速器", classification="F16H 1/28")
    world.value(a["id"], "1000000.00")
    data = world.listing_body([a["id"]], start="700000.00", increment="10000.00",
                              deposit="70000.00", starts_in=1, lasts=8,
                              extension_window_s=1, extension_s=1)
    lst = world.listing(owner, data)
    expect(owner.post(f"{API}/listings/{lst['id']}/submit"), 200)
    sleep_until(instant(data["auction"]["starts_at"]))
    aid = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)["auction_id"]
    world.qualify(inv, aid)
    world.qualify(inv2, aid)
    expect(world.bid(inv, aid, "700000.00"), 201)
    win = expect(world.bid(inv2, aid, "850000.00"), 201)
    sleep_until(instant(world.auction(aid)["ends_at"]))
    world.run_once()
    # Sold but not paid: not yet a sale of the market.
    assert expect(anon.get(f"{API}/market/sales"), 200)["items"] == []
    pay = expect(inv2.post(f"{API}/listings/{lst['id']}/payments",
                           json={"method": "offline"}), 201)
    expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)

    sales = expect(anon.get(f"{API}/market/sales"), 200)
    assert sales["total"] == 1
    sale = sales["items"][0]
    today = market_today().isoformat()
    assert sale == {"listing_id": lst["id"], "mode": "auction", "kinds": ["invention_patent"],
                    "classification": "F16H 1/28", "currency": "CNY", "price": "850000.00",
                    "value": "1000000.00", "price_to_value": "0.8500", "settled_on": today,
                    "rounds": 1}
    index = expect(anon.get(f"{API}/market/index?interval=quarter&kind=invention_patent"), 200)
    assert [(i["n"], i["median_price_to_value"], i["volume"]) for i in index["items"]] == [
        (1, "0.8500", "850000.00")]
    # A guide for another gear patent of the owner's takes the sale as its comparable.
    b = world.asset(title="齿轮箱", classification="F16H 57/04")
    world.value(b["id"], "2000000.00")
    guide = expect(owner.get(f"{API}/assets/{b['id']}/price-guide"), 200)
    assert guide["comparables"] == [sale]
    assert guide["suggested_start_price"] == "1700000.00"  # 2,000,000 × 0.85 ≥ the floor
    expect(anon.get(f"{API}/assets/{b['id']}/price-guide"), 401)
    expect(anon.get(f"{API}/assets/{b['id']}/price-guide",
                    headers={"Authorization": "Bearer nonsense"}), 401)

    buyer = inv2.user
    for text in (json.dumps(sales, ensure_ascii=False), json.dumps(guide, ensure_ascii=False)):
        for secret in (buyer["email"], win["bid"]["bidder_code"], "buyer", "winner", "bidder"):
            assert secret not in text, (secret, text)
    doc = expect(anon.get("/api/openapi.json"), 200)
    for path in ("/market/sales", "/market/index", "/assets/{asset_id}/price-guide"):
        assert "get" in doc["paths"][API + path], path
    problems = recorder.problems(doc)
    assert not problems, "\n".join(problems)
