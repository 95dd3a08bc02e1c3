"""In a real browser: a bank lists the collateral of a defaulted loan, the operator rejects
it with a reason, the bank fixes it and resubmits, the operator approves with the keyboard,
and an anonymous visitor finds it by a Chinese keyword."""
from __future__ import annotations

import datetime as dt
import re

from tests.listing_helpers import asset, loan

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_bank_lists_collateral_operator_moderates_public_finds_it(
        new_page, live_server, actors, db, browser_login):
    bank = actors.user("bank", org="华夏科创银行")
    owner = actors.user("owner", org="苏州精密传动科技有限公司")
    operator = actors.user("operator", org="知识产权交易中心")
    patent = asset(db, owner["org_id"], title="一种行星齿轮减速器", value="1000000.00")
    loan_id = loan(db, bank["org_id"], owner["org_id"], [patent])

    # The bank starts from its defaulted loan: the pledged patent is preselected.
    bp = new_page()
    browser_login(bp, live_server, bank["email"], bank["password"])
    bp.goto(f"{live_server}/my/listings")
    bp.click(f"[data-test=list-loan-{loan_id}]")
    assert bp.locator(f"[data-test=asset-{patent}]").is_checked()
    starts = dt.datetime.now(SHANGHAI) + dt.timedelta(hours=1)
    bp.fill("[data-test=title]", "质押专利处置：行星齿轮减速器")
    bp.fill("[data-test=description]", "Collateral disposal of a planetary gear reducer patent.")
    bp.fill("[data-test=start_price]", "800000.00")
    bp.fill("[data-test=increment]", "10000")
    bp.fill("[data-test=deposit]", "80000")
    bp.fill("[data-test=starts_at]", starts.strftime("%Y-%m-%dT%H:%M"))
    bp.fill("[data-test=ends_at]", (starts + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    bp.click("[data-test=save-submit]")
    bp.wait_for_url(re.compile(r".*/listings/\d+$"))
    listing_url = bp.url
    listing_id = int(listing_url.rsplit("/", 1)[1])
    assert bp.locator("[data-test=listing-status]").inner_text() == "待审核"

    # The operator rejects it from the queue with a reason.
    op = new_page()
    browser_login(op, live_server, operator["email"], operator["password"])
    op.goto(f"{live_server}/operator/listings")
    op.click(f"[data-test=queue-row-{listing_id}] a")
    op.fill("[data-test=reject-reason-input]", "起拍价说明不清，请补充评估基准日")
    op.click("[data-test=reject]")
    op.wait_for_url(re.compile(r".*/operator/listings$"))

    # The bank sees the decision and the reason, fixes the listing and resubmits.
    bp.goto(listing_url)
    assert bp.locator("[data-test=reject-reason]").inner_text() == "起拍价说明不清，请补充评估基准日"
    bp.click("[data-test=edit]")
    bp.fill("[data-test=description]", "评估基准日 2026-10-01; start price 80% of the appraisal.")
    bp.click("[data-test=save-submit]")
    bp.wait_for_url(re.compile(rf".*/listings/{listing_id}$"))
    assert bp.locator("[data-test=listing-status]").inner_text() == "待审核"

    # The operator approves with the keyboard shortcut.
    op.goto(f"{live_server}/operator/listings/{listing_id}")
    op.on("dialog", lambda d: d.accept())
    op.keyboard.press("a")
    op.wait_for_url(re.compile(r".*/operator/listings$"))

    # Anyone finds it by a two-character Chinese word from the home page.
    visitor = new_page()
    visitor.goto(live_server + "/")
    visitor.fill("[data-test=home-search]", "齿轮")
    visitor.keyboard.press("Enter")
    visitor.wait_for_url(re.compile(r".*/listings\?q=.*"))
    card = visitor.locator(f"[data-listing-id='{listing_id}']")
    assert card.is_visible()
    card.locator("[data-test=listing-title]").click()
    visitor.wait_for_url(re.compile(rf".*/listings/{listing_id}$"))
    assert visitor.locator("[data-test=listing-status]").inner_text() == "已发布"
    assert "行星齿轮减速器" in visitor.locator("[data-test=listing-heading]").inner_text()
