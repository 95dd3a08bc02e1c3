"""Agreed valuation (协议折价) on the bank's loan page, then its settlement statement (page,
CSV, PDF) with a sale's arithmetic layout; the deadline flag reads in Chinese."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from market.db import database
from market.lending.monitoring import run_monitoring
from tests.contract_helpers import API, World, expect, market_today


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def test_bank_records_an_agreed_valuation_from_the_loan_page(app, actors, client, world):
    today = market_today()
    dispose_by = today + dt.timedelta(days=60)
    a = world.asset(expires_on=dispose_by.isoformat())
    world.value(a["id"], "1000000.00")
    ln = world.loan([a["id"]], principal="100000.00")
    world.default(ln["id"], "2025-03-10")
    actors.login(client, world.bank.user)
    url = f"/loans/{ln['id']}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="agreed-form"' in page and "协议折价" in page
    # Below the floor: refused in the reader's language, nothing written.
    resp = client.post(url + "/agreed-valuation", data={
        "value": "600,000.00", "agreed_on": today.isoformat(), "pledgor_consent_ref": "C-9"})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "低于" in page and 'data-test="agreed-valuation"' not in page
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["status"] == "defaulted"
    resp = client.post(url + "/agreed-valuation", data={
        "value": "900,000.00", "agreed_on": today.isoformat(), "pledgor_consent_ref": "C-9"})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="agreed-valuation"' in page and 'data-test="agreed-form"' not in page
    assert "900,000.00" in page and "C-9" in page and "银行持有" in page
    got = expect(world.bank.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200)
    assert f"{Decimal(got['surplus_to_pledgor']):,.2f}" in page

    # The deadline flag (dispose_by is 60 days away) on the loan page and the dashboard.
    with app.app_context():
        run_monitoring(database(app), "Asia/Shanghai", today=today)
    page = client.get(url).get_data(as_text=True)
    assert "处置期限" in page and "财金〔2005〕53号" in page
    assert "处置期限" in client.get("/dashboard").get_data(as_text=True)

    # The statement: the same arithmetic layout as a sale's, as a page, CSV and PDF.
    link = page.split('data-test="agreed-statement"')[0].rsplit('href="', 1)[1].split('"')[0]
    st_page = client.get(link)
    assert st_page.status_code == 200
    html = st_page.get_data(as_text=True)
    for key in ("price", "seller_commission", "net_proceeds", "claim_total", "applied_total",
                "surplus_to_pledgor", "shortfall", "lender_loss"):
        assert f'data-line="{key}"' in html, key
    assert "协议价值" in html
    csv = client.get(link + ".csv")
    assert csv.status_code == 200 and "price" in csv.get_data(as_text=True)
    assert "900000.00" in csv.get_data(as_text=True)
    pdf = client.get(link + ".pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # The settlements list links to it.
    assert link in client.get("/settlements").get_data(as_text=True)
    # Another bank cannot read it.
    other = actors.user("bank")
    client2 = app.test_client()
    actors.login(client2, other)
    assert client2.get(link).status_code == 404
