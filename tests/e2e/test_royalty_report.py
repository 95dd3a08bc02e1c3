"""In a real browser: the licensee of an open licence with a running royalty files a
royalty report on the licence page and pays it by bank transfer; an operator confirms the
transfer on the payments desk; the bank sees its claim fall by the royalty less the
seller commission on the loan page."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from tests.contract_helpers import World, market_today, money
from tests.e2e.test_open_licence import _claim_total, confirm_on_desk
from tests.test_contract_licensing import (
    apply,
    body,
    licence,
    pay_offline,
    publish,
    terms,
)


def test_licensee_reports_royalties_pays_them_and_the_bank_sees_the_claim_fall(
        live_app, live_server, actors, new_page, browser_login):
    world = World(live_app, actors)
    a, ln = world.collateral()
    lst = publish(world, world.bank, body(world, [a["id"]], ln["id"], licensing=terms(
        open=True, royalty_rate="0.05")))
    lic = apply(world, world.investor, lst["id"])
    pay_offline(world, world.investor, lic["id"])
    start = dt.date.fromisoformat(licence(world, world.investor, lic["id"])["starts_on"])

    bank = new_page()
    browser_login(bank, live_server, world.bank.user["email"], world.bank.user["password"])
    before = _claim_total(bank, live_server, ln["id"])
    assert before == money(world.claim(ln["id"], market_today())["total"])

    investor = new_page()
    browser_login(investor, live_server, world.investor.user["email"],
                  world.investor.user["password"])
    investor.goto(f"{live_server}/licences/{lic['id']}")
    form = investor.locator("[data-test=royalty-form]")
    form.locator("input[name=period_start]").fill(start.isoformat())
    form.locator("input[name=period_end]").fill((start + dt.timedelta(days=29)).isoformat())
    form.locator("input[name=net_sales]").fill("123456.78")
    investor.click("[data-test=report-royalties]")
    investor.wait_for_url(re.compile(rf".*/licences/{lic['id']}$"))
    assert "6,172.84" in investor.locator("[data-test=royalty-reports]").inner_text()
    ref = investor.locator("[data-test=payment-reference]").inner_text().strip()

    confirm_on_desk(new_page(), live_server, actors, browser_login, ref)

    investor.reload()
    assert investor.locator("[data-test=payment-reference]").count() == 0
    after = _claim_total(bank, live_server, ln["id"])
    royalty = Decimal("6172.84")  # 123,456.78 × 5%, half-up
    assert before - after == royalty - (royalty * Decimal("0.01")).quantize(Decimal("0.01"))
