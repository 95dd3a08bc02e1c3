"""A loan officer records an agreed valuation (协议折价) from the defaulted loan's page in
the browser, sees the loan settled with the IP held by the bank, and follows the link to
the settlement statement, whose lines carry the API's figures."""
from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.contract_helpers import API, World


def _shown(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"


def test_agreed_valuation_from_the_loan_page_to_the_statement(app, actors, live_server, page,
                                                              browser_login):
    world = World(app, actors)
    shares = [{"org_id": world.fund["org_id"], "share": "0.4"}]
    _asset, loan = world.collateral(value="1000000.00", principal="3000000.00",
                                    risk_shares=shares)

    browser_login(page, live_server, world.bank.user["email"], PASSWORD)
    page.goto(f"{live_server}/loans/{loan['id']}")
    form = page.locator("[data-test=agreed-form]")
    form.locator("input[name=value]").fill("800,000.00")
    form.locator("input[name=pledgor_consent_ref]").fill("出质人同意书 2026-017")
    page.once("dialog", lambda d: d.accept())
    form.locator("button[type=submit]").click()

    section = page.locator("[data-test=agreed-valuation]")
    expect(section).to_be_visible()
    expect(page.locator("[data-test=loan-status]")).to_contain_text("已结算")
    got = world.bank.get(f"{API}/loans/{loan['id']}/agreed-valuation").get_json()
    expect(page.locator("[data-test=agreed-value]")).to_contain_text("800,000.00")
    expect(page.locator("[data-test=agreed-shortfall]")).to_contain_text(_shown(got["shortfall"]))
    expect(page.locator("[data-test=agreed-status]")).to_contain_text("银行持有")

    page.click("[data-test=agreed-statement]")
    lines = page.locator("[data-test=statement-lines]")
    expect(lines).to_be_visible()
    expect(lines.locator("tr[data-line='price']")).to_contain_text("协议价值")
    expect(lines.locator("tr[data-line='price']")).to_contain_text("800,000.00")
    expect(lines.locator("tr[data-line='seller_commission']")).to_contain_text("0.00")
    for key in ("shortfall", "lender_loss"):
        expect(lines.locator(f"tr[data-line='{key}']")).to_contain_text(_shown(got[key]))
    expect(lines.locator("tr[data-line='risk_share_1']")).to_contain_text(
        _shown(got["risk_shares"][0]["amount"]))
