"""The bank reads its settlement statement in the browser after its collateral auction
closed: the whole sale runs for real (API, bids, the scheduler's close), then a loan officer
finds the statement from the settlements list and checks the arithmetic line by line."""
from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.contract_helpers import World
from tests.test_contract_settlement import sell


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 2}


def _shown(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"


def test_bank_sees_its_statement_after_the_auction_closes(app, actors, live_server, page,
                                                         browser_login):
    world = World(app, actors)
    shares = [{"org_id": world.fund["org_id"], "share": "0.4", "cap": "100000.00"}]
    _asset, _loan, listing, auction, _as_of = sell(world, principal="3000000.00",
                                                   risk_shares=shares)
    assert auction["status"] == "closed"
    st = world.bank.get(f"/api/v1/listings/{listing['id']}/settlement").get_json()

    browser_login(page, live_server, world.bank.user["email"], PASSWORD)
    page.goto(f"{live_server}/settlements")
    page.click(f"a[href$='/settlements/listing/{listing['id']}']")
    lines = page.locator("[data-test=statement-lines]")
    expect(lines).to_be_visible()
    for key in ("price", "seller_commission", "disposal_costs", "net_proceeds", "shortfall",
                "lender_loss"):
        expect(lines.locator(f"tr[data-line='{key}']")).to_contain_text(_shown(st[key]))
    assert Decimal(st["shortfall"]) > 0  # a shortfall sale: the fund's capped share shows
    expect(page.locator("body")).to_contain_text(_shown(st["risk_shares"][0]["amount"]))
    # The other bank of the exchange must not see it.
    other = world.bank2
    assert other.get(f"/api/v1/listings/{listing['id']}/settlement").status_code == 404
