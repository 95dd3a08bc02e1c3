"""The public 市场行情 / Market page: the index chart and recent sales, filterable by kind
and classification prefix, in Chinese and English, linked from the navigation."""
from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import refresh
from sqlalchemy import select

from market.accounts.models import Org
from market.lending.models import Pledge, PledgeAsset
from market.timeutil import business_date, utcnow

from .marketdata_helpers import Market
from .settlement_helpers import loan


@pytest.fixture
def market(db):
    m = Market(db)
    m.sale("812500.00", dt.date(2026, 8, 3), classification="G06F 16/00")
    m.sale("450000.00", dt.date(2026, 5, 3), kind="trademark", classification="Nice 7")
    db.commit()
    return m


def page(client, lang: str, query: str = "") -> str:
    # The db fixture keeps an app context pushed, which requests then share: forget the
    # locale Flask-Babel cached on it, so each request chooses its own.
    refresh()
    resp = client.get(f"/market{query}", headers={"Accept-Language": lang})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_market_page_in_chinese_and_english(client, market):
    zh = page(client, "zh-CN")
    assert 'lang="zh-CN"' in zh and "知识产权市场行情" in zh and "近期成交" in zh
    assert 'data-test="index-chart"' in zh and "2026-Q3" in zh and "2026-Q2" in zh
    assert "0.8125" in zh and "发明专利" in zh
    assert 'href="/market"' in zh and ">市场行情<" in zh  # in the site navigation
    en = page(client, "en-US")
    assert 'lang="en"' in en and "Market prices of IP" in en and "Recent sales" in en
    assert 'data-test="index-chart"' in en and "Invention patent" in en
    assert ">Market<" in en
    for text in (zh, en):
        assert market.buyer_org.name not in text and market.buyer.email not in text


def test_market_page_filters(client, market):
    only = page(client, "en-US", "?kind=trademark")
    assert "0.4500" in only and "0.8125" not in only and "2026-Q3" not in only
    by_prefix = page(client, "en-US", "?classification=G06")
    assert "0.8125" in by_prefix and "0.4500" not in by_prefix
    none = page(client, "en-US", "?classification=ZZZ&kind=nonsense")
    assert 'data-test="market-empty"' in none and "No settled sales match." in none


def test_empty_market_page(client):
    zh = page(client, "zh-CN")
    assert "暂无已结算的交易。" in zh and 'data-test="index-chart"' not in zh


def _today() -> dt.date:
    return business_date(utcnow(), "Asia/Shanghai")


def test_listing_form_offers_the_price_guide(client, db, actors, market):
    """An owner's form shows each asset's guide with a link to its comparables."""
    owner = actors.user("owner", org=market.seller.name)
    today = _today()
    a = market.asset(value="1000000.00", classification="G06F 9/44",
                     valued_on=today - dt.timedelta(days=3))
    db.commit()
    actors.login(client, owner)
    refresh()
    html = client.get("/listings/new", headers={"Accept-Language": "en-US"}).get_data(
        as_text=True)
    # One comparable (G06F, ratio 0.8125): 1,000,000 × 0.8125 = 812,500 ≥ the floor.
    assert 'data-guide="812500.00"' in html
    assert f'data-test="guide-{a.id}"' in html and "1 comparable sales" in html
    assert '/market?kind=invention_patent&amp;classification=G06F' in html


def test_listing_form_defaults_to_the_guide_for_a_loans_assets(client, db, actors, market):
    """A bank starting from a defaulted loan: its pledged assets are preselected and the
    start price is the sum of their guides."""
    bank_user = actors.user("bank")
    today = _today()
    bank = db.get(Org, bank_user["org_id"])
    assets = [market.asset(value=v, classification="G06F 1/00",
                           valued_on=today - dt.timedelta(days=3))
              for v in ("1000000.00", "400000.00")]
    ln = loan(db, bank, market.seller)
    pledge_id = db.scalar(select(Pledge.id).where(Pledge.loan_id == ln.id))
    for a in assets:
        db.add(PledgeAsset(pledge_id=pledge_id, asset_id=a.id, active=True))
    db.commit()
    actors.login(client, bank_user)
    refresh()
    html = client.get(f"/listings/new?loan_id={ln.id}").get_data(as_text=True)
    # 812,500 + 325,000 (0.8125 of each value).
    assert 'value="1137500.00"' in html, html[html.find("start_price") - 200:][:600]
