"""Equity contribution in the browser: a company offers shares for a bank's pledged IP on
the listing page, the bank compares the offers and accepts one for its fund (a bank may not
hold shares, 商业银行法 art. 43), the fund pays, and the bank reads the sale's statement."""
from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.contract_helpers import API, World
from tests.contract_helpers import expect as expect_status
from tests.test_equity import company, equity_listing, fund_client


def test_offer_accepted_for_a_nominee_through_to_the_statement(app, actors, live_server,
                                                               page, browser_login, new_page):
    world = World(app, actors)
    listing, _asset, _loan, _seller = equity_listing(world, min_valuation="800000.00")
    lid = listing["id"]
    other = company(world, "另一家")
    expect_status(other.post(f"{API}/listings/{lid}/equity-offers",
                             json={"valuation": "820000.00", "share_of_company": "0.10"}), 201)
    fund = fund_client(world)
    co = company(world)

    # The company offers on the listing page.
    browser_login(page, live_server, co.user["email"], PASSWORD)
    page.goto(f"{live_server}/listings/{lid}")
    expect(page.locator("[data-test=min-valuation]")).to_contain_text("800,000.00")
    form = page.locator("[data-test=equity-offer-form]")
    form.locator("input[name=valuation]").fill("950,000.00")
    form.locator("input[name=share_of_company]").fill("0.25")
    form.locator("button").click()
    expect(page.locator("[data-test=equity-offers]")).to_contain_text("950,000.00")
    mine = expect_status(co.get(f"{API}/listings/{lid}/equity-offers"), 200)["items"]
    assert len(mine) == 1 and mine[0]["status"] == "pending"
    offer_id = mine[0]["id"]

    # The bank compares both offers and accepts the company's for its fund.
    bank_page = new_page()
    browser_login(bank_page, live_server, world.bank.user["email"], PASSWORD)
    bank_page.goto(f"{live_server}/listings/{lid}")
    table = bank_page.locator("[data-test=equity-offers]")
    expect(table.locator("tbody tr")).to_have_count(2)
    accept = bank_page.locator(f"[data-test=accept-offer-{offer_id}]")
    accept.locator("select[name=consideration_to]").select_option("nominee")
    accept.locator("select[name=nominee_org_id]").select_option(str(fund.user["org_id"]))
    accept.locator("button").click()
    expect(bank_page.locator(f"[data-test=equity-offer-{offer_id}] "
                             "[data-test=equity-offer-status]")).to_contain_text("已接受")

    # The company sees its offer accepted.
    page.reload()
    expect(page.locator(f"[data-test=equity-offer-{offer_id}]")).to_contain_text("已接受")

    # The fund pays the valuation; the sale settles like an auction's.
    pay = expect_status(fund.post(f"{API}/listings/{lid}/payments", json={"method": "offline"}),
                        201)
    expect_status(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    st = expect_status(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)
    assert st["status"] == "settled" and Decimal(st["price"]) == Decimal("950000.00")

    bank_page.goto(f"{live_server}/settlements")
    bank_page.click(f"a[href$='/settlements/listing/{lid}']")
    lines = bank_page.locator("[data-test=statement-lines]")
    expect(lines.locator("tr[data-line='price']")).to_contain_text("950,000.00")
    expect(lines.locator("tr[data-line='net_proceeds']")).to_contain_text(
        f"{Decimal(st['net_proceeds']):,.2f}")
