"""Contract (API.md "Assets", "Loans and pledges", "Public pledge register"), black box."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.contract_helpers import (API, D, World, assert_list, check_cases, expect, money,
                                    unique_no)

KINDS = ["invention_patent", "utility_model", "design_patent", "trademark", "copyright",
         "software_copyright", "ic_layout", "geographical_indication", "plant_variety",
         "license_revenue_right"]


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def test_assets_of_every_kind_and_duplicates(world):
    """API.md Assets: every kind; defaults jurisdiction CN, legal_status valid; same
    kind+jurisdiction+registry_no twice → 409 duplicate_asset."""
    for i, kind in enumerate(KINDS):
        who = world.bank if i % 2 else world.owner
        no = unique_no("R")
        a = world.asset(who, kind=kind, registry_no=no, title=f"资产 {kind}")
        assert isinstance(a["id"], int)
        assert a["kind"] == kind and a["registry_no"] == no and a["title"] == f"资产 {kind}"
        assert a["owner_org_id"] == world.borrower_id
        assert a["jurisdiction"] == "CN" and a["legal_status"] == "valid", a
        assert a["expires_on"] == "2040-12-31"
        got = expect(world.owner.get(f"{API}/assets/{a['id']}"), 200)
        assert got["id"] == a["id"] and got["kind"] == kind
    no = unique_no("DUP")
    data = {"kind": "trademark", "registry_no": no, "title": "商标", "owner_org_id":
            world.borrower_id, "expires_on": "2035-01-01"}
    expect(world.owner.post(f"{API}/assets", json=data), 201)
    expect(world.owner.post(f"{API}/assets", json=data), 409, "duplicate_asset")
    expect(world.bank.post(f"{API}/assets", json={**data, "jurisdiction": "CN"}), 409,
           "duplicate_asset")
    # Another kind or jurisdiction with the same number is another asset.
    expect(world.owner.post(f"{API}/assets", json={**data, "kind": "copyright"}), 201)
    expect(world.owner.post(f"{API}/assets", json={**data, "jurisdiction": "US"}), 201)
    # Investors and operators may not create assets.
    expect(world.investor.post(f"{API}/assets", json={**data, "registry_no": "X1"}), 403)


def test_valuations_default_validity_one_year(world):
    """API.md Assets: valid_until defaults to one year after valued_on (appraisal validity)."""
    a = world.asset()
    v = world.value(a["id"], "1234567.80", valued_on=dt.date(2026, 1, 15))
    assert v["amount"] == "1234567.80" and v["valued_on"] == "2026-01-15"
    assert v["valid_until"] == "2027-01-15", v
    assert v["method"] == "income" and v["agency"] == "中联资产评估"
    # the owner's asset, not pledged: its owner (not another bank) values it (issue 13)
    v = world.value(a["id"], "900000.00", valued_on=dt.date(2026, 2, 1),
                    valid_until="2026-08-01")
    assert v["valid_until"] == "2026-08-01"
    for method in ("market", "cost"):
        expect(world.owner.post(f"{API}/assets/{a['id']}/valuations", json={
            "amount": "1.00", "valued_on": "2026-01-01", "method": method, "agency": "x"}), 201)
    expect(world.investor.post(f"{API}/assets/{a['id']}/valuations", json={
        "amount": "1.00", "valued_on": "2026-01-01", "method": "cost", "agency": "x"}), 403)


def test_loan_created_performing_and_visible_to_its_parties_only(world):
    """API.md Loans: 201 loan with status performing; GET for the loan's bank, borrower,
    operators; another bank → 404."""
    a = world.asset()
    ln = world.loan([a["id"]])
    assert isinstance(ln["id"], int) and ln["status"] == "performing", ln
    assert ln["borrower_org_id"] == world.borrower_id
    for who in (world.bank, world.owner, world.operator):
        got = expect(who.get(f"{API}/loans/{ln['id']}"), 200)
        assert got["id"] == ln["id"] and got["status"] == "performing"
    expect(world.bank2.get(f"{API}/loans/{ln['id']}"), 404)
    expect(world.bank2.get(f"{API}/loans/{ln['id']}/claim?as_of=2025-01-01"), 404)
    expect(world.bank2.post(f"{API}/loans/{ln['id']}/default",
                            json={"declared_on": "2025-03-10"}), 404)
    expect(world.owner2.get(f"{API}/loans/{ln['id']}"), 404)
    # The refused call by the other bank wrote nothing.
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["status"] == "performing"


def test_pledge_refusals(world):
    """API.md Loans / 专利权质押登记办法 2021: already pledged, not in force, pledgor not owner,
    term exceeds asset; shares above 1 → risk_shares_exceed_one. Each refusal writes nothing."""
    taken = world.asset()
    world.loan([taken["id"]])
    lapsed = world.asset(legal_status="lapsed")
    others = world.asset(world.owner2, owner_org_id=world.owner2.user["org_id"])
    short = world.asset(expires_on="2024-12-31")
    free = world.asset()
    bank = world.bank
    check_cases([
        (bank, "POST", "/loans", world.loan_body([taken["id"]]), 422, "asset_already_pledged"),
        (bank, "POST", "/loans", world.loan_body([free["id"], taken["id"]]), 422,
         "asset_already_pledged"),
        (bank, "POST", "/loans", world.loan_body([lapsed["id"]]), 422, "asset_not_in_force"),
        (bank, "POST", "/loans", world.loan_body([others["id"]]), 422, "pledgor_not_owner"),
        (bank, "POST", "/loans", world.loan_body([short["id"]]), 422, "term_exceeds_asset"),
        (bank, "POST", "/loans", world.loan_body([free["id"]], risk_shares=[
            {"org_id": world.fund["org_id"], "share": "0.6"},
            {"org_id": world.insurer["org_id"], "share": "0.5", "cap": "100000.00"}]),
         422, "risk_shares_exceed_one"),
    ])
    # `free` was in two refused calls: it is still free to pledge, and shares summing to 1 pass.
    ln = world.loan([free["id"]], risk_shares=[
        {"org_id": world.fund["org_id"], "share": "0.6"},
        {"org_id": world.insurer["org_id"], "share": "0.4", "cap": "100000.00"}])
    assert ln["status"] == "performing"
    shares = sorted((r["org_id"], r["share"], r.get("cap")) for r in ln["risk_shares"])
    assert shares == sorted([(world.fund["org_id"], "0.6", None),
                             (world.insurer["org_id"], "0.4", "100000.00")]), ln["risk_shares"]
    expect(world.investor.post(f"{API}/loans", json=world.loan_body([world.asset()["id"]])), 403)


def test_worked_example_claim(world):
    """API.md 'How the claim is computed' worked example: 3,000,000.00 at 4.35% from
    2024-03-01 to 2025-03-01 accrues 132,312.50; penalty at 6.525% adds 543.75 a day."""
    a = world.asset()
    ln = world.loan([a["id"]])
    lid = ln["id"]
    c = world.claim(lid, "2024-03-01")
    assert c == {**c, "costs": "0.00", "penalty_interest": "0.00", "interest": "0.00",
                 "principal": "3000000.00", "total": "3000000.00"}, c
    c = world.claim(lid, "2024-03-02")
    assert c["interest"] == "362.50", c  # 3,000,000 × 0.0435 / 360
    c = world.claim(lid, "2025-03-01")
    assert (c["interest"], c["penalty_interest"], c["principal"], c["total"]) == (
        "132312.50", "0.00", "3000000.00", "3132312.50"), c
    c = world.claim(lid, "2025-03-02")
    assert (c["interest"], c["penalty_interest"], c["total"]) == (
        "132312.50", "543.75", "3132856.25"), c
    c = world.claim(lid, "2025-03-11")
    assert c["penalty_interest"] == "5437.50", c
    # No default was declared: overdue is a flag, the status stays performing.
    assert expect(world.bank.get(f"{API}/loans/{lid}"), 200)["status"] == "performing"
    expect(world.bank.get(f"{API}/loans/{lid}/claim?as_of=2025-13-01"), 422)
    expect(world.bank.get(f"{API}/loans/{lid}/claim?as_of=yesterday"), 422)


def test_default_accelerates(world):
    """API.md Loans: a default declared before maturity accelerates the loan (提前到期)."""
    a = world.asset()
    ln = world.loan([a["id"]], maturity_on="2027-03-01")
    d = world.default(ln["id"], declared_on="2025-03-01")
    assert d["status"] == "defaulted", d
    c = world.claim(ln["id"], "2025-03-02")
    assert (c["interest"], c["penalty_interest"], c["principal"]) == (
        "132312.50", "543.75", "3000000.00"), c
    assert expect(world.owner.get(f"{API}/loans/{ln['id']}"), 200)["status"] == "defaulted"
    expect(world.bank.post(f"{API}/loans/{ln['id']}/default",
                           json={"declared_on": "2025-04-01"}), 409)  # already defaulted
    expect(world.owner.post(f"{API}/loans/{ln['id']}/default",
                            json={"declared_on": "2025-04-01"}), 403)


def test_costs_repayments_in_561_order_and_payment_exceeds_claim(world):
    """API.md claim rules / 民法典 561: costs → penalty interest → interest → principal;
    more than the claim → 422 payment_exceeds_claim, nothing written."""
    a = world.asset()
    lid = world.loan([a["id"]])["id"]
    bank = world.bank
    r = bank.post(f"{API}/loans/{lid}/costs",
                  json={"amount": "1000.00", "incurred_on": "2024-06-01", "description": "律师费"})
    assert r.status_code in (200, 201), r.get_json()
    c = world.claim(lid, "2024-05-31")
    assert c["costs"] == "0.00", c  # costs count from incurred_on
    c = world.claim(lid, "2025-03-02")
    assert (c["costs"], c["penalty_interest"], c["interest"], c["total"]) == (
        "1000.00", "543.75", "132312.50", "3133856.25"), c
    expect(bank.post(f"{API}/loans/{lid}/repayments",
                     json={"amount": "3133856.26", "paid_on": "2025-03-02"}),
           422, "payment_exceeds_claim")
    assert world.claim(lid, "2025-03-02") == c  # nothing written
    r = bank.post(f"{API}/loans/{lid}/repayments", json={"amount": "10000.00",
                                                         "paid_on": "2025-03-02"})
    assert r.status_code in (200, 201), r.get_json()
    c2 = world.claim(lid, "2025-03-02")
    assert (c2["costs"], c2["penalty_interest"], c2["interest"], c2["principal"],
            c2["total"]) == ("0.00", "0.00", "123856.25", "3000000.00", "3123856.25"), c2
    # Principal is untouched, so a day's penalty is still 543.75.
    c3 = world.claim(lid, "2025-03-03")
    assert c3["penalty_interest"] == "543.75", c3
    # Repaying the whole claim exactly is allowed; the claim is then zero.
    r = bank.post(f"{API}/loans/{lid}/repayments", json={"amount": c3["total"],
                                                         "paid_on": "2025-03-03"})
    assert r.status_code in (200, 201), r.get_json()
    assert money(world.claim(lid, "2025-03-03")["total"]) == D("0.00")
    # Paid off: the pledge is released in the register; the loan's status changes only by
    # default and settlement; a released asset may be pledged again.
    assert expect(bank.get(f"{API}/loans/{lid}"), 200)["status"] == "performing"
    reg = expect(world.anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"), 200)
    assert [r["status"] for r in reg["items"]] == ["released"], reg
    world.loan([a["id"]], disbursed_on="2025-04-01", maturity_on="2026-04-01")
    for bad in ({"amount": "-1.00", "paid_on": "2025-03-03"},
                {"amount": "1.00", "paid_on": "2025-03-03", "x": 1},
                {"amount": "1.00"}):
        expect(bank.post(f"{API}/loans/{lid}/repayments", json=bad), 422)
    expect(world.owner.post(f"{API}/loans/{lid}/repayments",
                            json={"amount": "1.00", "paid_on": "2025-03-03"}), 403)


def test_public_register(world):
    """API.md Public pledge register: no auth, {registration_no, registry_no, asset_kind,
    pledgor, pledgee, registered_on, status}, no loan amounts."""
    a = world.asset(kind="trademark", title="注册商标")
    body = world.loan_body([a["id"]])
    expect(world.bank.post(f"{API}/loans", json=body), 201)
    data = expect(world.anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"), 200)
    items = assert_list(data)
    assert data["total"] == 1 and len(items) == 1, data
    row = items[0]
    assert set(row) >= {"registration_no", "registry_no", "asset_kind", "pledgor", "pledgee",
                        "registered_on", "status"}, row
    assert row["registration_no"] == body["pledge"]["registration_no"]
    assert row["registry_no"] == a["registry_no"] and row["asset_kind"] == "trademark"
    assert row["registered_on"] == "2024-03-01" and row["status"] == "registered"
    assert "苏州精密传动" in str(row["pledgor"]) and "华夏科创银行" in str(row["pledgee"]), row
    text = str(row)
    for secret in ("3000000", "principal", "annual_rate", "amount"):
        assert secret not in text, row
    other = expect(world.anon.get(f"{API}/registry/pledges?registry_no=NO-SUCH"), 200)
    assert other["total"] == 0 and other["items"] == []


def test_principal_repayment_rounding_and_dating(world):
    """API.md claim rules: accrual continues from d on the new principal; amounts are summed
    exactly and rounded half-up only at a payment date or as_of (divide by 360 last);
    claim?as_of=D includes only what is dated ≤ D."""
    a = world.asset()
    lid = world.loan([a["id"]])["id"]
    bank = world.bank
    r = bank.post(f"{API}/loans/{lid}/repayments", json={"amount": "1000362.50",
                                                         "paid_on": "2024-03-02"})
    assert r.status_code in (200, 201), r.get_json()
    c = world.claim(lid, "2024-03-02")
    assert (c["interest"], c["principal"]) == ("0.00", "2000000.00"), c
    # One day on 2,000,000: 241.666… → 241.67; three days: 725.00 exactly (not 3 × 241.67).
    assert world.claim(lid, "2024-03-03")["interest"] == "241.67"
    assert world.claim(lid, "2024-03-05")["interest"] == "725.00"
    # A repayment dated later is not in an earlier claim.
    r = bank.post(f"{API}/loans/{lid}/repayments", json={"amount": "500000.00",
                                                         "paid_on": "2024-06-01"})
    assert r.status_code in (200, 201), r.get_json()
    assert world.claim(lid, "2024-05-31")["principal"] == "2000000.00"
    c = world.claim(lid, "2024-06-01")
    # 2024-03-02 … 2024-05-31: 91 days on 2,000,000 = 21,991.66(6) → 21,991.67, paid first.
    assert c["interest"] == "0.00" and c["principal"] == "1521991.67", c
    r = bank.post(f"{API}/loans/{lid}/costs", json={"amount": "800.00", "incurred_on":
                                                    "2024-07-01", "description": "评估费"})
    assert r.status_code in (200, 201), r.get_json()
    assert world.claim(lid, "2024-06-30")["costs"] == "0.00"
    assert world.claim(lid, "2024-07-01")["costs"] == "800.00"
