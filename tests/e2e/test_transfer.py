"""In a real browser, a whole listed transfer (issue 15): the bank lists its collateral for
transfer, the operator approves, two investors register and their deposits are paid, the
period ends, the auction among exactly them runs, the winner pays on the site, and the
bank reads its settlement statement. Disclosure lasts a minute (MARKET_DISCLOSURE_SECONDS)
and the exchange's clock is moved on instead of waiting."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from market.payments.models import Deposit, Payment
from tests.contract_helpers import API, World, expect, instant, sleep_until


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_DISCLOSURE_SECONDS": 60}


def test_a_listed_transfer_from_listing_to_statement(app, actors, db, new_page, live_server,
                                                     browser_login):
    world = World(app, actors)
    asset, loan = world.collateral(value="1000000.00")

    # The bank lists the pledged patent for transfer from its defaulted loan.
    bank = new_page()
    browser_login(bank, live_server, world.bank.user["email"], world.bank.user["password"])
    bank.goto(f"{live_server}/listings/new?loan_id={loan['id']}")
    bank.fill("[data-test=title]", "质押专利挂牌转让：行星齿轮减速器")
    bank.select_option("[data-test=mode]", "transfer")
    bank.fill("[data-test=ask_price]", "800000.00")
    bank.fill("[data-test=transfer_deposit]", "80000.00")
    bank.fill("[data-test=transfer_increment]", "10000.00")
    if not bank.locator(f"[data-test=asset-{asset['id']}]").is_checked():
        bank.check(f"[data-test=asset-{asset['id']}]")
    bank.click("[data-test=save-submit]")
    bank.wait_for_url(re.compile(r".*/listings/\d+$"))
    lid = int(bank.url.rsplit("/", 1)[1])

    # The operator approves it: the disclosure period starts.
    op = new_page()
    browser_login(op, live_server, world.operator.user["email"], world.operator.user["password"])
    op.goto(f"{live_server}/operator/listings/{lid}")
    op.on("dialog", lambda d: d.accept())
    op.click("[data-test=approve]")
    op.wait_for_url(re.compile(r".*/operator/listings.*"))
    listing = expect(world.bank.get(f"{API}/listings/{lid}"), 200)
    assert listing["status"] == "published" and listing["transfer"]["disclosure_ends_at"]

    # Two investors register on the listing page; the operator confirms their transfers.
    pages = {}
    for who in (world.investor, world.investor2):
        p = new_page()
        browser_login(p, live_server, who.user["email"], who.user["password"])
        p.goto(f"{live_server}/listings/{lid}")
        p.click("[data-test=transfer-register]")
        p.wait_for_url(re.compile(rf".*/listings/{lid}.*"))
        assert "保证金待支付" in p.locator("[data-test=my-registration]").inner_text()
        pages[who.user["id"]] = p
    db.rollback()
    for dep_id in db.scalars(select(Deposit.id).where(Deposit.listing_id == lid)):
        expect(world.operator.post(f"{API}/deposits/{dep_id}/confirm"), 200)
    bank.goto(f"{live_server}/listings/{lid}")
    assert "2" in bank.locator("[data-test=registrants]").inner_text()

    # The period ends; the scheduler opens the auction among exactly those two.
    sleep_until(instant(listing["transfer"]["disclosure_ends_at"]))
    world.run_once()
    first = pages[world.investor.user["id"]]
    first.goto(f"{live_server}/listings/{lid}")
    href = first.locator("[data-test=transfer-auction]").get_attribute("href")
    aid = int(href.rsplit("/", 1)[1])
    first.goto(f"{live_server}{href}")
    assert "800,000.00" in first.locator("body").inner_text()
    expect(world.bid(world.investor, aid, "800000.00"), 201)
    expect(world.bid(world.investor2, aid, "810000.00"), 201)
    sleep_until(instant(world.auction(aid)["ends_at"]))
    world.run_once()

    # The winner pays the balance on the site; the operator matches the bank transfer.
    winner = pages[world.investor2.user["id"]]
    winner.goto(f"{live_server}/listings/{lid}")
    winner.click("[data-test=transfer-pay]")
    winner.wait_for_url(re.compile(rf".*/listings/{lid}.*"))
    assert "730000.00" in winner.locator("body").inner_text()
    db.rollback()
    pay_id = db.scalar(select(Payment.id).where(Payment.listing_id == lid))
    expect(world.operator.post(f"{API}/payments/{pay_id}/confirm"), 200)

    # The bank reads its statement.
    bank.goto(f"{live_server}/settlements/listing/{lid}")
    lines = bank.locator("[data-test=statement-lines]")
    assert "810,000.00" in lines.locator("tr[data-line='price']").inner_text()
