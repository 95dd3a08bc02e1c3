"""In a real browser: an investor takes a bank's open licence over pledged IP and pays by
bank transfer; an operator confirms the transfer on the payments desk; the bank sees its
claim fall by the fee less the seller commission on the loan page."""
from __future__ import annotations

import re
from decimal import Decimal

from tests.contract_helpers import World, market_today, money
from tests.test_contract_licensing import FEE, bank_open_licence


def _claim_total(page, live_server, loan_id) -> Decimal:
    page.goto(f"{live_server}/loans/{loan_id}?as_of={market_today().isoformat()}")
    return Decimal(page.locator("[data-test=claim-total]").inner_text()
                   .replace(",", "").replace("¥", "").replace("CNY", "").strip())


def confirm_on_desk(operator, live_server, actors, browser_login, ref: str) -> None:
    """An operator matches the bank transfer quoting `ref` on the payments desk."""
    op = actors.user("operator")
    browser_login(operator, live_server, op["email"], op["password"])
    operator.goto(f"{live_server}/admin/payments")
    operator.locator("tr", has_text=ref).locator("[data-test=confirm-payment]").click()
    operator.wait_for_url(re.compile(r".*/admin/payments$"))


def test_investor_takes_an_open_licence_and_the_bank_sees_the_claim_fall(
        live_app, live_server, actors, new_page, browser_login):
    world = World(live_app, actors)
    _a, ln, lst = bank_open_licence(world)
    bank = new_page()
    browser_login(bank, live_server, world.bank.user["email"], world.bank.user["password"])
    before = _claim_total(bank, live_server, ln["id"])
    assert before == money(world.claim(ln["id"], market_today())["total"])

    investor = new_page()
    browser_login(investor, live_server, world.investor.user["email"],
                  world.investor.user["password"])
    investor.goto(f"{live_server}/listings/{lst['id']}")
    assert investor.locator("[data-test=open-licence]").is_visible()
    investor.click("[data-test=take-licence]")
    investor.wait_for_url(re.compile(r".*/licences/\d+$"))
    ref = investor.locator("[data-test=payment-reference]").inner_text().strip()

    confirm_on_desk(new_page(), live_server, actors, browser_login, ref)

    investor.reload()
    assert investor.locator("[data-test=licence-dates]").inner_text().strip() != "—"
    after = _claim_total(bank, live_server, ln["id"])
    assert before - after == Decimal(FEE) * Decimal("0.99")
