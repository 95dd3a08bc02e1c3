"""A loan officer registers a loan pledging a two-patent bundle in a real browser, with a
risk-compensation fund's share, then reads the claim on the loan page (API.md worked
example: 3,000,000.00 at 4.35% for a year of 365 days accrues 132,312.50)."""
from __future__ import annotations

import re

from tests.lending_helpers import book


def test_bank_registers_bundle_loan_and_reads_the_claim(page, live_server, actors,
                                                        browser_login):
    b = book(actors, n_assets=2, bank_org="华夏科创银行", borrower_org="苏州精密传动科技有限公司")
    fund = actors.user("bank", org="苏州市知识产权质押融资风险补偿基金", org_kind="fund")
    browser_login(page, live_server, b.bank.user["email"], b.bank.user["password"])

    page.goto(f"{live_server}/loans/new")
    page.select_option("select[name=borrower_org_id]", str(b.borrower["org_id"]))
    page.fill("input[name=reference]", "HX-E2E-0001")
    page.fill("input[name=principal]", "3,000,000.00")
    page.fill("input[name=annual_rate]", "0.0435")
    page.fill("input[name=penalty_rate]", "0.06525")
    page.fill("input[name=disbursed_on]", "2024-03-01")
    page.fill("input[name=maturity_on]", "2025-03-01")
    page.fill("input[name=registration_no]", "Y2024320500000777")
    page.fill("input[name=registered_on]", "2024-02-28")
    for a in b.assets:
        page.check(f"input[name=asset_ids][value='{a['id']}']")
    page.select_option("select[name='shares-0-org_id']", str(fund["org_id"]))
    page.fill("input[name='shares-0-share']", "0.4")
    page.fill("input[name='shares-0-cap']", "500000")
    page.click("[data-test=submit-loan]")
    page.wait_for_url(re.compile(r".*/loans/\d+$"))

    assert "HX-E2E-0001" in page.content()
    for a in b.assets:
        assert page.locator(f"[data-test=collateral-{a['id']}]").is_visible()
    assert "苏州市知识产权质押融资风险补偿基金" in page.content()

    page.fill("[data-test=as-of]", "2025-03-01")
    page.get_by_role("button", name=re.compile("显示|Show")).click()
    page.wait_for_url(re.compile(r".*as_of=2025-03-01"))
    assert "132,312.50" in page.locator("[data-test=claim-interest]").inner_text()
    assert "3,132,312.50" in page.locator("[data-test=claim-total]").inner_text()

    # the pledge is public at once, without loan amounts
    page.goto(f"{live_server}/register?registry_no={b.assets[0]['registry_no']}")
    results = page.locator("[data-test=register-results]").inner_text()
    assert "Y2024320500000777" in results and "华夏科创银行" in results
    assert "3,000,000" not in results
