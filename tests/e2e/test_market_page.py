"""The public market page (市场行情) in a real browser, in Chinese and in English: the
index chart, recent sales and the filters; and the listing form taking the price guide as
its default start price when the seller ticks an asset."""
from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from market.timeutil import business_date, utcnow
from tests.marketdata_helpers import Market


def test_market_page_in_both_languages(page, live_server, db):
    m = Market(db)
    m.sale("812500.00", dt.date(2026, 8, 3), classification="G06F 16/00")
    m.sale("450000.00", dt.date(2026, 5, 3), kind="trademark", classification="Nice 7")
    db.commit()
    page.goto(f"{live_server}/")
    page.click("nav >> text=市场行情")
    page.wait_for_url(re.compile(r".*/market$"))
    expect(page.locator("h1")).to_have_text("知识产权市场行情")
    expect(page.locator("[data-test=index-chart]")).to_be_visible()
    expect(page.locator("[data-test=index-chart] circle")).to_have_count(2)
    sales = page.locator("[data-test=market-sales] tbody tr")
    expect(sales).to_have_count(2)
    expect(sales.first).to_contain_text("0.8125")
    expect(sales.first).to_contain_text("发明专利")
    assert m.buyer_org.name not in page.content()

    page.select_option("select[name=kind]", "trademark")
    page.click("[data-test=market-filter] button")
    page.wait_for_url(re.compile(r".*kind=trademark.*"))
    expect(sales).to_have_count(1)
    expect(sales.first).to_contain_text("0.4500")

    page.click("[data-test=lang-en]")
    page.wait_for_url(re.compile(r".*/market\?.*kind=trademark.*"))
    expect(page.locator("h1")).to_have_text("Market prices of IP")
    expect(page.locator("nav >> text=Market")).to_be_visible()
    expect(sales.first).to_contain_text("Trademark")
    page.fill("input[name=classification]", "ZZ")
    page.click("[data-test=market-filter] button")
    expect(page.locator("[data-test=market-empty]")).to_have_text("No settled sales match.")
    expect(page.locator("[data-test=market-sales] tbody")).to_contain_text(
        "No settled sales match.")


def test_listing_form_takes_the_guide_as_start_price(page, live_server, db, actors,
                                                     browser_login):
    m = Market(db)
    m.sale("812500.00", dt.date(2026, 8, 3), classification="G06F 16/00")
    today = business_date(utcnow(), "Asia/Shanghai")
    a = m.asset(value="1000000.00", classification="G06F 9/44",
                valued_on=today - dt.timedelta(days=3))
    b = m.asset(value="400000.00", classification="G06F 3/01",
                valued_on=today - dt.timedelta(days=3))
    db.commit()
    owner = actors.user("owner", org=m.seller.name)
    browser_login(page, live_server, owner["email"], owner["password"])
    page.goto(f"{live_server}/listings/new")
    start = page.locator("input[name=start_price]")
    expect(start).to_have_value("")
    expect(page.locator(f"[data-test=guide-{a.id}]")).to_contain_text("1 笔可比成交")
    page.check(f"[data-test=asset-{a.id}]")
    expect(start).to_have_value("812500.00")
    page.check(f"[data-test=asset-{b.id}]")
    expect(start).to_have_value("1137500.00")
    start.fill("900000.00")  # the seller's own price is kept
    page.uncheck(f"[data-test=asset-{b.id}]")
    expect(start).to_have_value("900000.00")
    page.click(f"[data-test=guide-evidence-{a.id}]")
    page.wait_for_url(re.compile(r".*/market\?kind=invention_patent&classification=G06F"))
    expect(page.locator("[data-test=market-sales] tbody tr")).to_have_count(1)
