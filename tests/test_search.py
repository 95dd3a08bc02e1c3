"""Search: Chinese bigrams, English words, filters, sorting and paging (API and browse page)."""
from __future__ import annotations

import datetime as dt

import pytest

from listings.search import build_search_text, document_tokens, query_tokens
from tests.listing_helpers import Setup, asset, auction_terms, transfer_terms


def test_cjk_runs_become_characters_and_bigrams():
    toks = document_tokens("行星齿轮减速器 Planetary GEAR-reducer ZL2020.1")
    for t in ("齿轮", "轮减", "减速", "速器", "行星", "齿", "planetary", "gear", "reducer",
              "zl2020", "1"):
        assert t in toks
    assert query_tokens("齿轮减速器") == [("齿轮", False), ("轮减", False), ("减速", False),
                                     ("速器", False)]
    assert query_tokens("齿") == [("齿", False)]
    assert query_tokens("Gear 齿轮") == [("gear", True), ("齿轮", False)]
    assert query_tokens("  %_'\"&|!:*() ") == []


class _A:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_search_text_covers_assets():
    text = build_search_text("标题", "Description", [_A(title="行星齿轮", abstract="Robot arm",
                                                      registry_no="ZL2020123.4",
                                                      classification="F16H 1/28")])
    for t in ("标题", "description", "行星", "齿轮", "robot", "zl2020123", "f16h"):
        assert t in text.split()


@pytest.fixture
def market(actors, db):
    """Published listings: a gear patent (auction), a trademark (transfer), a software
    licence; plus a draft that must never show up for the public."""
    s = Setup(actors, db)
    owner_org = s.owner.user["org_id"]
    gear = s.publish({"title": "行星齿轮减速器发明专利", "description": "Planetary gear reducer "
                      "for industrial robots", "mode": "auction", "asset_ids": [s.own],
                      "auction": auction_terms(start="500000.00", deposit="50000.00",
                                               duration=dt.timedelta(days=1))}, s.owner)
    tm = asset(db, owner_org, title="精传商标", kind="trademark", abstract="Word mark",
               classification="Nice 7")
    brand = s.publish({"title": "精传商标挂牌转让", "description": "Trademark for transmission "
                       "machinery", "mode": "transfer", "asset_ids": [tm],
                       "transfer": transfer_terms("880000.00")}, s.owner)
    sw = asset(db, owner_org, title="工业视觉检测软件", kind="software_copyright",
               abstract="Machine vision inspection", classification="G06T 7/00")
    soft = s.publish({"title": "视觉软件许可", "mode": "licensing", "asset_ids": [sw],
                      "ask_price": "300000.00",
                      "licensing": {"kind": "non_exclusive", "term_months": 36,
                                    "upfront_fee": "300000.00"}}, s.owner)
    hidden = asset(db, owner_org, title="齿轮泵草稿")
    s.create({"title": "齿轮泵（草稿）", "mode": "transfer", "asset_ids": [hidden],
              "transfer": transfer_terms("1.00")}, s.owner)
    s.ids = {"gear": gear["id"], "brand": brand["id"], "soft": soft["id"]}
    return s


def ids(client, query):
    body = client.get("/api/v1/listings" + query).get_json()
    return [i["id"] for i in body["items"]]


def test_two_character_chinese_word_finds_longer_title(market, client):
    """BENCHMARKS.md: 齿轮 must find 行星齿轮减速器 (bigram search)."""
    assert ids(client, "?q=齿轮") == [market.ids["gear"]]
    assert ids(client, "?q=减速器") == [market.ids["gear"]]
    assert ids(client, "?q=齿") == [market.ids["gear"]]
    assert ids(client, "?q=齿条") == []
    assert ids(client, "?q=商标") == [market.ids["brand"]]


def test_english_is_case_insensitive_and_prefix(market, client):
    assert ids(client, "?q=GEAR") == [market.ids["gear"]]
    assert ids(client, "?q=robot") == [market.ids["gear"]]
    assert ids(client, "?q=Machine%20Vision") == [market.ids["soft"]]
    assert ids(client, "?q=gear%20trademark") == []


def test_mixed_query_and_asset_fields(market, client):
    assert ids(client, "?q=齿轮%20robots") == [market.ids["gear"]]
    assert ids(client, "?q=G06T") == [market.ids["soft"]]


def test_filters(market, client):
    assert ids(client, "?mode=transfer") == [market.ids["brand"]]
    assert ids(client, "?kind=software_copyright") == [market.ids["soft"]]
    assert ids(client, "?classification=f16h") == [market.ids["gear"]]
    assert ids(client, "?classification=F16H%205") == [market.ids["gear"]]  # prefix of F16H 57
    assert ids(client, "?classification=F16H%201") == []
    assert set(ids(client, "?min_price=400000.00&max_price=900000.00")) == \
        {market.ids["gear"], market.ids["brand"]}
    assert ids(client, "?closing_within_h=48") == [market.ids["gear"]]
    assert client.get("/api/v1/listings?kind=spaceship").status_code == 422
    assert client.get("/api/v1/listings?min_price=abc").status_code == 422


def test_sort_and_pages(market, client):
    assert ids(client, "?sort=price_asc") == [market.ids["soft"], market.ids["gear"],
                                              market.ids["brand"]]
    assert ids(client, "?sort=price_desc")[0] == market.ids["brand"]
    assert ids(client, "?sort=newest") == [market.ids["soft"], market.ids["brand"],
                                           market.ids["gear"]]
    p1 = client.get("/api/v1/listings?per_page=2&page=1&sort=price_asc").get_json()
    p2 = client.get("/api/v1/listings?per_page=2&page=2&sort=price_asc").get_json()
    assert p1["total"] == 3 and len(p1["items"]) == 2 and len(p2["items"]) == 1
    assert p2["items"][0]["id"] == market.ids["brand"]


def test_browse_page_finds_by_chinese_keyword(market, client):
    html = client.get("/listings?q=齿轮").get_data(as_text=True)
    assert "行星齿轮减速器发明专利" in html and "精传商标挂牌转让" not in html
    assert "齿轮泵（草稿）" not in html
    html = client.get("/listings?mode=licensing&sort=price_desc&page=1").get_data(as_text=True)
    assert "视觉软件许可" in html and "行星齿轮" not in html
    assert client.get("/listings?min_price=x&page=abc&closing=999999").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert "精传商标挂牌转让" in home and "齿轮泵（草稿）" not in home
