"""Two investors on the live auction page (UI.md "Live auction block"): one outbids the
other inside the soft-close window (法释〔2016〕18号: the close moves to the bid + extension),
the other's page updates without a reload, and the scheduler closes the auction."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.auction_helpers import make_auction, move_times, qualify, run_scheduler
from tests.e2e.conftest import browser_login


def test_two_bidders_soft_close_and_scheduler_close(app, db, actors, live_server, new_page):
    op = actors.api("operator")
    a1, a2 = actors.api("investor"), actors.api("investor")
    lid, aid = make_auction(db, actors.user("bank"), start_price="100000.00",
                            increment="1000.00", window=30, extension=15, lasts=600)
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    pages = []
    for api in (a1, a2):
        pg = new_page()
        pg.on("dialog", lambda d: d.accept())
        browser_login(pg, live_server, api.user["email"], api.user["password"])
        pg.goto(f"{live_server}/listings/{lid}")
        expect(pg.locator("[data-test=my-status]")).to_contain_text("竞买号")
        pages.append(pg)
    p1, p2 = pages
    move_times(app, aid, ends_in=15)  # both bids land inside the 30-second window

    expect(p1.locator("[data-test=bid-amount]")).to_have_value("100000.00")
    p1.click("[data-test=bid-submit]")
    expect(p1.locator("[data-test=bid-message]")).to_contain_text("100,000.00")
    expect(p1.locator("[data-test=my-status]")).to_contain_text("领先")
    # the other bidder's page follows without a reload
    expect(p2.locator("[data-field=current]")).to_contain_text("100,000.00")
    expect(p2.locator("[data-test=bid-amount]")).to_have_value("101000.00")
    ends_before = p2.locator("[data-field=ends]").get_attribute("datetime")
    p2.click("[data-test=bid-submit]")
    expect(p2.locator("[data-test=my-status]")).to_contain_text("领先")
    expect(p1.locator("[data-field=current]")).to_contain_text("101,000.00")
    expect(p1.locator("[data-test=my-status]")).to_contain_text("超越")
    expect(p1.locator("[data-test=bid-log] tr")).to_have_count(2)
    expect(p1.locator("[data-test=bid-log] tr").first).to_contain_text("101,000.00")
    expect(p1.locator("[data-field=countdown]")).to_have_class(re.compile("urgent"))
    expect(p1.locator("[data-field=extended]")).to_be_visible()
    api_ends = a1.get(f"/api/v1/auctions/{aid}").get_json()["ends_at"]
    assert api_ends > ends_before

    # the close comes from the scheduler once the (extended) end has passed
    deadline = time.monotonic() + 40
    while a1.get(f"/api/v1/auctions/{aid}").get_json()["status"] == "open":
        assert time.monotonic() < deadline
        run_scheduler(app)
        time.sleep(0.5)
    expect(p2.locator("[data-test=my-status]")).to_contain_text("恭喜竞得")
    expect(p2.locator("[data-test=my-status]")).to_contain_text("应付余款")
    expect(p1.locator("[data-test=my-status]")).to_contain_text("拍卖已结束")
    expect(p1.locator("[data-field=status]")).to_contain_text("成交")
    expect(p1.locator("[data-test=bid-form]")).to_be_hidden()
