"""A bank saves its overall NPL ratio on its dashboard; a regulator signs in, opens the NPL
table from the navigation, reads every bank's position, changes the quarter, and reads it
again in English."""
from __future__ import annotations

import re

from market.oversight.periods import Quarter
from tests.contract_helpers import World, market_today


def test_regulator_reads_the_npl_table(page, new_page, live_server, app, actors, browser_login):
    w = World(app, actors)
    a, b = w.asset(), w.asset()
    w.loan([a["id"]], principal="2000000.00", disbursed_on="2024-01-10",
           maturity_on="2025-01-10")  # long overdue: non-performing by its arrears
    w.loan([b["id"]], principal="6000000.00", disbursed_on="2025-01-10",
           maturity_on="2028-01-10")
    w.bank2  # noqa: B018 - a second bank without loans
    now = Quarter.of(market_today())

    bank_page = new_page()
    browser_login(bank_page, live_server, w.bank.user["email"], w.bank.user["password"])
    panel = bank_page.locator("[data-test=panel-npl]")
    assert "25.00%" in panel.locator("[data-test=npl-ratio]").inner_text()
    panel.locator("select[name=period]").select_option(str(now))
    panel.locator("input[name=ratio_pct]").fill("1.35")
    panel.locator("button[type=submit]").click()
    assert "已保存" in bank_page.locator(".flash.info").inner_text()

    regulator = actors.user("regulator", org="国家金融监督管理总局", org_kind="regulator")
    browser_login(page, live_server, regulator["email"], regulator["password"])
    page.click("nav >> text=不良贷款监测")
    page.wait_for_url(re.compile(r".*/oversight/npl"))
    rows = page.locator("[data-test=npl-row]")
    assert rows.count() == 2
    mine = page.locator(f"[data-test=npl-row][data-org='{w.bank.user['org_id']}']")
    text = mine.inner_text()
    assert "25.00%" in text and "1.35%" in text and "23.65" in text and "超出" in text
    other = page.locator(f"[data-test=npl-row][data-org='{w.bank2.user['org_id']}']")
    assert "无法计算" in other.inner_text()
    # Nothing on the page writes: the only form that posts is signing out.
    assert page.locator("form[method=post]:not([action$='/logout'])").count() == 0

    page.select_option("[data-test=period]", str(now.previous()))
    page.click("text=显示")
    page.wait_for_url(re.compile(rf".*period={now.previous()}"))
    assert str(now.previous()) in page.locator("h1").inner_text()

    page.click("[data-test=lang-en]")
    page.wait_for_url(re.compile(r".*/oversight/npl.*"))
    assert "NPL oversight" in page.locator("h1").inner_text()
