"""Loan book, loan page, asset pages and the public register as people use them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from market.lending.models import Loan
from tests.lending_helpers import book, make_asset, make_loan


def _login(actors, client, user):
    actors.login(client, user)
    return client


def test_bank_registers_loan_over_two_patents_in_the_web_form(actors, client, db):
    """A bundle (打包组合) pledged for one loan, with fund and insurer risk shares."""
    b = book(actors, n_assets=2)
    fund = actors.user("bank", org="风险补偿基金", org_kind="fund")
    bank_user = dict(b.bank.user)
    _login(actors, client, bank_user)
    page = client.get("/loans/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert b.assets[0]["registry_no"] in html and "风险补偿基金" in html
    form = {"borrower_org_id": b.borrower["org_id"], "principal": "2,000,000.00",
            "annual_rate": "0.0435", "penalty_rate": "0.06525", "disbursed_on": "2024-03-01",
            "maturity_on": "2025-03-01", "registration_no": "Y2024320500012345",
            "registered_on": "2024-02-28", "asset_ids": [a["id"] for a in b.assets],
            "shares-0-org_id": fund["org_id"], "shares-0-share": "0.4",
            "shares-0-cap": "300000", "shares-1-org_id": "0", "shares-2-org_id": "0"}
    resp = client.post("/loans/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    loan = db.scalar(select(Loan))
    assert loan.principal == 2000000 and len(loan.pledge.items) == 2
    assert [(r.org_id, str(r.share), r.cap) for r in loan.risk_shares] == [
        (fund["org_id"], "0.4", 300000)]
    page = client.get(f"/loans/{loan.id}?as_of=2025-03-01").get_data(as_text=True)
    assert "88,208.33" in page  # 2,000,000 × 4.35% × 365/360
    # the same assets again: no longer offered, refused, nothing written
    form["registration_no"] = "Y2024320500099999"
    resp = client.post("/loans/new", data=form)
    assert resp.status_code == 200 and 'class="flash error"' in resp.get_data(as_text=True)
    db.rollback()
    assert len(list(db.scalars(select(Loan)))) == 1


def test_loan_page_actions_and_claim_date_picker(actors, client):
    b = book(actors)
    loan = make_loan(b)
    _login(actors, client, b.bank.user)
    url = f"/loans/{loan['id']}"
    resp = client.post(url + "/costs", data={"amount": "1000.00", "incurred_on": "2024-06-01",
                                             "description": "律师费"})
    assert resp.status_code == 302
    resp = client.post(url + "/repayments", data={"amount": "50000", "paid_on": "2024-06-01"})
    assert resp.status_code == 302
    page = client.get(url + "?as_of=2024-06-01").get_data(as_text=True)
    assert "2,984,350.00" in page and "律师费" in page
    resp = client.post(url + "/repayments", data={"amount": "99999999", "paid_on": "2024-06-02"},
                       headers={"Referer": url})
    assert resp.status_code == 302
    follow = client.get(url).get_data(as_text=True)
    assert "2,984,350.00" in client.get(url + "?as_of=2024-06-01").get_data(as_text=True)
    assert follow.count("律师费") == 1
    resp = client.post(url + "/default", data={"declared_on": "2024-09-01"})
    assert resp.status_code == 302
    assert "data-test=\"loan-status\">" in client.get(url).get_data(as_text=True)


def test_loan_pages_hide_other_banks_loans(actors, client):
    b = book(actors)
    loan = make_loan(b)
    other = actors.user("bank", org="江南商业银行")
    _login(actors, client, other)
    assert client.get(f"/loans/{loan['id']}").status_code == 404
    assert client.post(f"/loans/{loan['id']}/repayments",
                       data={"amount": "1", "paid_on": "2024-05-01"}).status_code == 404
    assert f"loan-row-{loan['id']}" not in client.get("/loans").get_data(as_text=True)
    owner_client = actors.app.test_client()
    _login(actors, owner_client, b.borrower)
    assert owner_client.get(f"/loans/{loan['id']}").status_code == 200
    assert owner_client.get("/loans/new").status_code == 403


def test_book_totals_filters_and_dashboard(actors, client):
    b = book(actors, n_assets=2)
    make_loan(b, asset_ids=[b.assets[0]["id"]], principal="1000000.00")
    l2 = make_loan(b, asset_ids=[b.assets[1]["id"]], principal="500000.00")
    b.bank.post(f"/api/v1/loans/{l2['id']}/default", json={"declared_on": "2024-06-01"})
    _login(actors, client, b.bank.user)
    page = client.get("/loans").get_data(as_text=True)
    assert "1,500,000.00" in page
    page = client.get("/loans?status=defaulted").get_data(as_text=True)
    assert f"loan-row-{l2['id']}" in page and "500,000.00" in page
    dash = client.get("/dashboard").get_data(as_text=True)
    assert 'data-test="panel-loan-book"' in dash


def test_asset_pages_and_valuation_form(actors, client):
    bank = actors.api("bank")
    owner = actors.user("owner")
    asset = make_asset(bank, owner["org_id"], title="一种行星齿轮减速器")
    _login(actors, client, bank.user)
    assert "一种行星齿轮减速器" in client.get("/assets").get_data(as_text=True)
    today = dt.date.today().isoformat()
    resp = client.post(f"/assets/{asset['id']}/valuations",
                       data={"amount": "6200000", "valued_on": today, "method": "market",
                             "agency": "北京中企华"})
    assert resp.status_code == 302
    page = client.get(f"/assets/{asset['id']}").get_data(as_text=True)
    assert "北京中企华" in page and 'data-test="valuation-chart"' in page
    resp = client.post("/assets/new", data={
        "kind": "trademark", "registry_no": "TM 12345678", "title": "云图", "jurisdiction": "CN",
        "owner_org_id": owner["org_id"], "legal_status": "valid", "expires_on": "2033-01-01"})
    assert resp.status_code == 302
    owner_client = actors.app.test_client()
    _login(actors, owner_client, owner)
    dash = owner_client.get("/dashboard").get_data(as_text=True)
    assert 'data-test="panel-my-ip"' in dash and "TM 12345678" in dash
    other_owner = actors.user("owner")
    c3 = actors.app.test_client()
    _login(actors, c3, other_owner)
    assert c3.get(f"/assets/{asset['id']}").status_code == 404


def test_public_register_page(actors, client):
    b = book(actors, bank_org="华夏科创银行", borrower_org="苏州精密传动科技有限公司")
    make_loan(b)
    page = client.get("/register?pledgee=华夏")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert b.assets[0]["registry_no"] in html and "苏州精密传动科技有限公司" in html
    assert "3,000,000" not in html
    assert "/register" in client.get("/").get_data(as_text=True)  # nav entry for everyone
