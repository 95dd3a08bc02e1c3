"""Loans and pledges through the API (API.md "Loans and pledges")."""
from __future__ import annotations

from sqlalchemy import select

from market.assets.models import AssetCoOwner
from market.audit import AuditRecord
from market.lending.models import Loan, LoanEvent, PledgeAsset
from tests.conftest import ApiClient
from tests.lending_helpers import book, loan_body, make_asset, make_loan


def _code(resp):
    return resp.get_json()["error"]["code"]


def test_create_loan_with_bundle_and_risk_shares(actors):
    b = book(actors, n_assets=2)
    fund = actors.user("bank", org="风险补偿基金", org_kind="fund")
    insurer = actors.user("bank", org="人保财险", org_kind="insurer")
    loan = make_loan(b, risk_shares=[{"org_id": fund["org_id"], "share": "0.4",
                                      "cap": "500000.00"},
                                     {"org_id": insurer["org_id"], "share": "0.3"}])
    assert loan["status"] == "performing"
    assert loan["principal"] == "3000000.00" and loan["annual_rate"] == "0.0435"
    assert loan["pledge"]["status"] == "registered"
    assert loan["pledge"]["asset_ids"] == [a["id"] for a in b.assets]
    # the agreed terms (each item also carries its status and payment: open, nothing due)
    assert [{k: r[k] for k in ("org_id", "share", "cap")} for r in loan["risk_shares"]] == [
        {"org_id": fund["org_id"], "share": "0.4", "cap": "500000.00"},
        {"org_id": insurer["org_id"], "share": "0.3", "cap": None}]
    assert {(r["status"], r["amount_due"]) for r in loan["risk_shares"]} == {("open", None)}
    assert loan["flags"] == [] and loan["bank_org_id"] == b.bank.user["org_id"]
    got = b.bank.get(f"/api/v1/loans/{loan['id']}")
    assert got.status_code == 200 and got.get_json()["id"] == loan["id"]


def test_second_pledge_of_an_asset_is_refused(actors, db):
    """专利权质押登记办法 (2021): no second registered pledge on an asset."""
    b = book(actors, n_assets=2)
    make_loan(b, asset_ids=[b.assets[0]["id"]])
    resp = b.bank.post("/api/v1/loans", json=loan_body(b.borrower["org_id"],
                                                       [b.assets[1]["id"], b.assets[0]["id"]]))
    assert resp.status_code == 422 and _code(resp) == "asset_already_pledged"
    db.commit()
    assert db.scalar(select(PledgeAsset).where(PledgeAsset.asset_id == b.assets[1]["id"])) is None
    assert len(list(db.scalars(select(Loan)))) == 1  # nothing written


def test_pledge_refusals(actors, db):
    """专利权质押登记办法 (2021): owner, in force, term within expiry, co-owner consent."""
    b = book(actors)
    other = actors.user("owner")
    borrower = b.borrower["org_id"]
    foreign = make_asset(b.bank, other["org_id"])
    resp = b.bank.post("/api/v1/loans", json=loan_body(borrower, [foreign["id"]]))
    assert resp.status_code == 422 and _code(resp) == "pledgor_not_owner"

    lapsed = make_asset(b.bank, borrower, legal_status="lapsed")
    resp = b.bank.post("/api/v1/loans", json=loan_body(borrower, [lapsed["id"]]))
    assert resp.status_code == 422 and _code(resp) == "asset_not_in_force"

    expired = make_asset(b.bank, borrower, expires_on="2024-01-01")
    resp = b.bank.post("/api/v1/loans", json=loan_body(borrower, [expired["id"]]))
    assert _code(resp) == "asset_not_in_force"

    short = make_asset(b.bank, borrower, expires_on="2025-01-31")
    resp = b.bank.post("/api/v1/loans", json=loan_body(borrower, [short["id"]]))
    assert resp.status_code == 422 and _code(resp) == "term_exceeds_asset"

    co = make_asset(b.bank, borrower, co_owner_org_ids=[other["org_id"]])
    resp = b.bank.post("/api/v1/loans", json=loan_body(borrower, [co["id"]]))
    assert resp.status_code == 422 and _code(resp) == "co_owner_consent_missing"
    # only the co-owner itself records its consent (issue 13)
    url = f"/api/v1/assets/{co['id']}/co-owners/{other['org_id']}/consent"
    assert b.bank.post(url, json={"consent_ref": "同意书 2024-02-01"}).status_code == 404
    co_owner = ApiClient(actors.app.test_client(), actors.token(other), other)
    r = co_owner.post(url, json={"consent_ref": "同意书 2024-02-01"})
    assert r.status_code == 200
    assert b.bank.post("/api/v1/loans", json=loan_body(borrower, [co["id"]])).status_code == 201
    db.commit()
    assert db.scalar(select(AssetCoOwner)).consent_ref == "同意书 2024-02-01"


def test_risk_shares_above_one_and_bad_input(actors):
    b = book(actors)
    fund = actors.user("bank", org_kind="fund")
    ins = actors.user("bank", org_kind="insurer")
    ids = [b.assets[0]["id"]]
    body = loan_body(b.borrower["org_id"], ids, risk_shares=[
        {"org_id": fund["org_id"], "share": "0.6"}, {"org_id": ins["org_id"], "share": "0.5"}])
    resp = b.bank.post("/api/v1/loans", json=body)
    assert resp.status_code == 422 and _code(resp) == "risk_shares_exceed_one"
    bads = [{"principal": "-5"}, {"principal": "1.005"}, {"annual_rate": "abc"},
            {"maturity_on": "2024-01-01"}, {"pledge": {"asset_ids": [], "registration_no": "x",
                                                        "registered_on": "2024-01-01"}},
            {"extra": 1}, {"disbursed_on": "yesterday"}]
    for bad in bads:
        resp = b.bank.post("/api/v1/loans", json={**loan_body(b.borrower["org_id"], ids), **bad})
        assert resp.status_code == 422, bad
    resp = b.bank.client.post("/api/v1/loans", data="{not json", headers={
        **b.bank.headers, "Content-Type": "application/json"})
    assert resp.status_code == 422
    resp = b.bank.post("/api/v1/loans", json=loan_body(b.borrower["org_id"], [10 ** 12]))
    assert resp.status_code == 404, resp.get_json()
    resp = b.bank.post("/api/v1/loans", json=loan_body(10 ** 9, ids))
    assert resp.status_code == 404


def test_auth_order_for_loans(actors, client):
    b = book(actors)
    assert client.post("/api/v1/loans", json={}).status_code == 401
    owner = b.owner_api
    resp = owner.post("/api/v1/loans", json={"garbage": True})
    assert resp.status_code == 403  # role before body
    resp = b.bank.post("/api/v1/loans/999999/repayments", json={"amount": "x"})
    assert resp.status_code == 422  # body before 404
    resp = b.bank.post("/api/v1/loans/999999/repayments",
                       json={"amount": "1.00", "paid_on": "2024-05-01"})
    assert resp.status_code == 404


def test_visibility_of_loans(actors):
    """A bank never sees another bank's loans; the borrower and operators do."""
    b = book(actors)
    loan = make_loan(b)
    other_bank = actors.api("bank", org="江南商业银行")
    stranger = actors.api("owner")
    operator = actors.api("operator")
    url = f"/api/v1/loans/{loan['id']}"
    assert other_bank.get(url).status_code == 404
    assert other_bank.get(url + "/claim").status_code == 404
    assert stranger.get(url).status_code == 404
    assert b.owner_api.get(url).status_code == 200
    assert operator.get(url).status_code == 200
    assert other_bank.get("/api/v1/loans").get_json()["total"] == 0
    assert b.bank.get("/api/v1/loans").get_json()["total"] == 1
    assert operator.get("/api/v1/loans").get_json()["total"] == 1
    for path, body in (("/costs", {"amount": "1.00", "incurred_on": "2024-05-01",
                                   "description": "x"}),
                       ("/repayments", {"amount": "1.00", "paid_on": "2024-05-01"}),
                       ("/default", {"declared_on": "2024-05-01"})):
        assert other_bank.post(url + path, json=body).status_code == 404
        assert b.owner_api.post(url + path, json=body).status_code == 403


def test_repayment_cost_and_claim(actors, db):
    """民法典 561: costs → penalty interest → interest → principal."""
    b = book(actors)
    loan = make_loan(b)
    url = f"/api/v1/loans/{loan['id']}"
    r = b.bank.post(url + "/costs", json={"amount": "1000.00", "incurred_on": "2024-06-01",
                                          "description": "律师费"})
    assert r.status_code == 201 and r.get_json()["claim"]["costs"] == "1000.00"
    r = b.bank.post(url + "/repayments", json={"amount": "50000.00", "paid_on": "2024-06-01"})
    assert r.status_code == 201, r.get_json()
    # 92 days of 3,000,000 × 4.35% / 360 = 33,350.00; 1,000 costs; rest to principal
    assert r.get_json()["claim"] == {"costs": "0.00", "penalty_interest": "0.00",
                                     "interest": "0.00", "principal": "2984350.00",
                                     "total": "2984350.00", "as_of": "2024-06-01",
                                     "currency": "CNY"}
    c = b.bank.get(url + "/claim?as_of=2024-06-02").get_json()
    assert c["interest"] == "360.61"  # 2,984,350 × 0.0435 / 360 = 360.6089…
    assert b.bank.get(url + "/claim?as_of=2024-13-01").status_code == 422
    db.commit()
    assert [e.kind for e in db.scalars(select(LoanEvent))] == ["cost", "repayment"]


def test_payment_exceeding_claim_is_refused(actors):
    b = book(actors)
    loan = make_loan(b, principal="1000.00", annual_rate="0", penalty_rate="0")
    url = f"/api/v1/loans/{loan['id']}"
    r = b.bank.post(url + "/repayments", json={"amount": "1000.01", "paid_on": "2024-04-01"})
    assert r.status_code == 422 and _code(r) == "payment_exceeds_claim"
    r = b.bank.post(url + "/repayments", json={"amount": "0.00", "paid_on": "2024-04-01"})
    assert r.status_code == 422
    r = b.bank.post(url + "/repayments", json={"amount": "1000.00", "paid_on": "2024-04-01"})
    assert r.status_code == 201
    got = b.bank.get(url).get_json()
    assert got["pledge"]["status"] == "released"  # paid in full: the pledge is released
    assert got["status"] == "performing"
    # the asset may now be pledged again
    assert b.bank.post("/api/v1/loans", json=loan_body(
        b.borrower["org_id"], [b.assets[0]["id"]])).status_code == 201


def test_default_accelerates_and_only_once(actors, db):
    """提前到期: a default before maturity puts all principal at the penalty rate."""
    b = book(actors)
    loan = make_loan(b)
    url = f"/api/v1/loans/{loan['id']}"
    r = b.bank.post(url + "/default", json={"declared_on": "2024-09-01"})
    assert r.status_code == 200 and r.get_json()["status"] == "defaulted"
    assert r.get_json()["defaulted_on"] == "2024-09-01"
    r2 = b.bank.post(url + "/default", json={"declared_on": "2024-09-02"})
    assert r2.status_code == 409 and _code(r2) == "loan_not_performing"
    c = b.bank.get(url + "/claim?as_of=2024-09-03").get_json()
    # 184 days at 4.35% (66,700.00), then 2 days at 6.525% (2 × 543.75)
    assert c["interest"] == "66700.00" and c["penalty_interest"] == "1087.50"
    db.commit()
    assert db.scalar(select(AuditRecord).where(AuditRecord.action == "loan.default"))
