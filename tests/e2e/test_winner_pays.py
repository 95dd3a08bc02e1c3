"""UI.md "Every journey ends on the site": a bidder sees the exchange's account with the
deposit instructions, the live block claims no false status, and the winner pays the
balance from the page (no API)."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from market import settings_store
from market.db import get_session
from market.payments.models import Deposit, Payment
from tests.auction_helpers import make_auction, move_times, run_scheduler
from tests.e2e.conftest import browser_login


def test_deposit_account_true_statuses_and_the_winner_pays(app, db, actors, live_server,
                                                           new_page):
    with app.app_context():
        s = get_session()
        for part, value in (("name", "知识产权交易所有限公司"), ("bank", "中国工商银行北京分行"),
                            ("number", "0200001009001234567")):
            settings_store.put(s, f"receiving_account_{part}", value, actor_id=None)
        s.commit()
    op = actors.api("operator")
    inv = actors.user("investor")
    lid, aid = make_auction(db, actors.user("bank"), lasts=600)
    pg = new_page()
    pg.on("dialog", lambda d: d.accept())
    browser_login(pg, live_server, inv["email"], inv["password"])
    pg.goto(f"{live_server}/listings/{lid}")
    expect(pg.locator("[data-test=deposit-offline]")).to_be_visible()
    expect(pg.locator("[data-field=extended]")).to_be_hidden()
    expect(pg.locator("[data-field=reserve]")).to_have_count(0)
    expect(pg.locator("[data-test=receiving-account]")).to_contain_text("0200001009001234567")
    pg.click("[data-test=deposit-offline]")
    expect(pg.locator("[data-test=my-status]")).to_contain_text("DEP")
    expect(pg.locator("[data-test=receiving-account]")).to_be_visible()
    db.rollback()
    dep_id = db.scalar(select(Deposit.id).where(Deposit.auction_id == aid))
    assert op.post(f"/api/v1/deposits/{dep_id}/confirm").status_code == 200
    expect(pg.locator("[data-test=bid-submit]")).to_be_visible(timeout=10000)
    pg.click("[data-test=bid-submit]")
    expect(pg.locator("[data-test=my-status]")).to_contain_text("领先")
    expect(pg.locator("[data-test=receiving-account]")).to_be_hidden()
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    expect(pg.locator("[data-test=pay-balance]")).to_be_visible(timeout=10000)
    pg.click("[data-test=pay-balance]")
    expect(pg.locator("[data-test=balance-instructions]")).to_contain_text("0200001009001234567")
    db.rollback()
    ref = db.scalar(select(Payment.reference).where(Payment.listing_id == lid))
    expect(pg.locator("[data-test=balance-reference]")).to_have_text(ref)
