"""Equity contribution (作价入股), API.md "Equity contribution": terms, offers, both
acceptance paths (a sale to a nominee; shares pledged to the bank in place of the IP),
lapse and every refusal code. The ledger verifies after each test (conftest)."""
from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from sqlalchemy import select

from market.accounts.models import Org
from market.audit import AuditRecord
from market.db import database
from tests.contract_helpers import (
    API,
    ResponseRecorder,
    World,
    expect,
    money,
    sleep_until,
    unique_no,
    utcnow,
)

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def world(app, actors):
    """The cast; every /api/v1 answer of the test must match its OpenAPI schema."""
    recorder = ResponseRecorder(app)
    cast = World(app, actors)
    yield cast
    try:
        problems = recorder.problems(cast.anon.get("/api/openapi.json").get_json())
    finally:
        recorder.close()
    assert not problems, "\n".join(problems)


def company(world, name="合资科技"):
    return world.actors.api("owner", org=f"{name} {unique_no('C')}", org_kind="enterprise")


def fund_client(world):
    return world.actors.api("investor", org=f"投资子公司 {unique_no('F')}", org_kind="fund")


def equity_listing(world, *, pledged=True, min_valuation="800000.00"):
    """A published equity listing: the bank's pledged IP (value 1,000,000) or an owner's own."""
    if pledged:
        a, ln = world.collateral(value="1000000.00")
        data = world.listing_body([a["id"]], ln["id"], mode="equity")
        data["pledgor_consent_ref"] = "CONSENT-2026-01"
        seller = world.bank
    else:
        a = world.asset()
        world.value(a["id"], "1000000.00")
        ln, seller = None, world.owner
        data = world.listing_body([a["id"]], mode="equity")
    data["equity"] = {"min_valuation": min_valuation}
    lst = world.publish(seller, data)
    return lst, a, ln, seller


def audited(app, object_type, object_id) -> list[str]:
    with app.app_context(), database(app).transaction() as s:
        return list(s.scalars(select(AuditRecord.action).where(
            AuditRecord.object_type == object_type, AuditRecord.object_id == object_id)
            .order_by(AuditRecord.id)))


def offer(who, listing_id, valuation="900000.00", share="0.20"):
    return who.post(f"{API}/listings/{listing_id}/equity-offers",
                    json={"valuation": valuation, "share_of_company": share})


def test_terms_on_create(world):
    a, ln = world.collateral(value="1000000.00")
    data = world.listing_body([a["id"]], ln["id"], mode="equity")
    expect(world.bank.post(f"{API}/listings", json=data), 422, "equity_terms_required")
    data["equity"] = {"min_valuation": "800000.00"}
    expect(world.bank.post(f"{API}/listings", json=data), 422, "pledgor_consent_required")
    data["pledgor_consent_ref"] = "CONSENT-1"
    data["equity"] = {"min_valuation": "699999.99"}  # floor: 70% of 1,000,000
    expect(world.bank.post(f"{API}/listings", json=data), 422, "start_price_below_floor")
    expect(world.bank.get(f"{API}/listings?mine=true&mode=equity"), 200)
    data["equity"] = {"min_valuation": "700000.00"}
    got = expect(world.bank.post(f"{API}/listings", json=data), 201)
    assert got["equity"] == {"min_valuation": "700000.00"}
    assert got["pledgor_consent_ref"] == "CONSENT-1" and got["status"] == "draft"
    # No valid valuation: an owner's unvalued IP cannot be contributed.
    b = world.asset()
    own = world.listing_body([b["id"]], mode="equity")
    own["equity"] = {"min_valuation": "1.00"}
    expect(world.owner.post(f"{API}/listings", json=own), 422, "no_valid_valuation")
    # Equity terms on another mode are refused.
    world.value(b["id"], "100.00")
    other = world.listing_body([b["id"]], mode="auction")
    other["equity"] = {"min_valuation": "1.00"}
    expect(world.owner.post(f"{API}/listings", json=other), 422, "equity_terms_not_allowed")


def test_offer_refusals_and_visibility(world):
    lst, _a, _ln, _seller = equity_listing(world)
    co = company(world)
    expect(offer(co, lst["id"], valuation="799999.99"), 422, "offer_below_minimum")
    expect(offer(co, lst["id"], share="0"), 422)
    expect(offer(co, lst["id"], share="1.01"), 422)
    expect(offer(co, lst["id"], share=True), 422)
    expect(offer(co, 99999999), 404)
    expect(offer(world.investor, lst["id"]), 403, "not_enterprise")
    expect(offer(world.operator, lst["id"]), 403, "forbidden")
    expect(offer(world.owner, lst["id"]), 403, "seller_cannot_offer")  # the pledgor's side
    expect(world.anon.post(f"{API}/listings/{lst['id']}/equity-offers",
                           json={"valuation": "900000.00", "share_of_company": "0.2"}), 401)
    o = expect(offer(co, lst["id"]), 201)
    assert o["status"] == "pending" and o["company_org_id"] == co.user["org_id"]
    assert money(o["valuation"]) == money("900000.00") and o["share_of_company"] == "0.20"
    assert o["consideration_to"] is None and o["nominee_org_id"] is None
    for who in (co, world.bank, world.operator):
        got = expect(who.get(f"{API}/equity-offers/{o['id']}"), 200)
        assert got["id"] == o["id"] and got["listing_id"] == lst["id"]
    expect(company(world, "别家").get(f"{API}/equity-offers/{o['id']}"), 404)
    expect(world.investor.get(f"{API}/equity-offers/{o['id']}"), 404)
    expect(world.bank.get(f"{API}/equity-offers/99999999999"), 404)
    # Offers on a listing of another mode.
    b = world.asset()
    auc = world.publish(world.owner, world.listing_body([b["id"]]))
    expect(offer(co, auc["id"]), 409, "not_equity_listing")


def test_accept_for_a_nominee_settles_like_a_sale(world, app):
    lst, a, ln, _seller = equity_listing(world)
    co1, co2 = company(world), company(world, "另一家")
    o1 = expect(offer(co1, lst["id"], "900000.00", "0.20"), 201)
    o2 = expect(offer(co2, lst["id"], "850000.00", "0.15"), 201)
    side = expect(world.bank.get(f"{API}/listings/{lst['id']}/equity-offers"), 200)
    assert [x["id"] for x in side["items"]] == [o1["id"], o2["id"]]
    assert [x["id"] for x in expect(co2.get(f"{API}/listings/{lst['id']}/equity-offers"),
                                    200)["items"]] == [o2["id"]]
    fund = fund_client(world)
    accept = f"{API}/equity-offers/{o1['id']}/accept"
    expect(world.bank.post(accept, json={"consideration_to": "nominee"}), 422, "nominee_required")
    expect(world.bank.post(accept, json={"consideration_to": "nominee",
                                         "nominee_org_id": world.bank2.user["org_id"]}),
           422, "bank_cannot_hold_equity")
    expect(world.bank.post(accept, json={"consideration_to": "nominee",
                                         "nominee_org_id": 99999999}), 404)
    expect(co1.post(accept, json={"consideration_to": "nominee",
                                  "nominee_org_id": fund.user["org_id"]}), 403)
    expect(world.owner2.post(accept, json={"consideration_to": "nominee",
                                           "nominee_org_id": fund.user["org_id"]}), 404)
    got = expect(world.bank.post(accept, json={"consideration_to": "nominee",
                                               "nominee_org_id": fund.user["org_id"]}), 200)
    assert got["status"] == "accepted" and got["consideration_to"] == "nominee"
    assert got["nominee_org_id"] == fund.user["org_id"]
    assert expect(co2.get(f"{API}/equity-offers/{o2['id']}"), 200)["status"] == "rejected"
    expect(world.bank.post(f"{API}/equity-offers/{o2['id']}/accept",
                           json={"consideration_to": "nominee",
                                 "nominee_org_id": fund.user["org_id"]}), 409, "offer_not_pending")
    assert expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "sold"
    expect(offer(company(world, "迟到"), lst["id"]), 409, "listing_not_open")
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    assert st["status"] == "awaiting_payment" and money(st["price"]) == money("900000.00")
    # The nominee pays (paying is its consent); another investor may not.
    expect(world.investor.post(f"{API}/listings/{lst['id']}/payments",
                               json={"method": "offline"}), 403, "not_winner")
    pay = expect(fund.post(f"{API}/listings/{lst['id']}/payments", json={"method": "offline"}),
                 201)
    assert money(pay["amount"]) == money("900000.00")
    expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    assert st["status"] == "settled"
    assert expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "settled"
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["status"] == "settled" and loan["pledge"]["status"] == "enforced"
    # The IP went to the company, not to the nominee.
    asset = expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)
    assert asset["owner_org_id"] == co1.user["org_id"]
    sales = expect(world.anon.get(f"{API}/market/sales"), 200)["items"]
    assert any(s["listing_id"] == lst["id"] and s["mode"] == "equity" for s in sales)


def test_unpaid_nominee_acceptance_lapses_and_listing_reopens(world):
    lst, _a, ln, _seller = equity_listing(world)
    co = company(world)
    o = expect(offer(co, lst["id"]), 201)
    fund = fund_client(world)
    expect(world.bank.post(f"{API}/equity-offers/{o['id']}/accept",
                           json={"consideration_to": "nominee",
                                 "nominee_org_id": fund.user["org_id"]}), 200)
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    due = dt.datetime.fromisoformat(st["balance_due_by"])
    sleep_until(due + dt.timedelta(seconds=1))
    world.run_once()
    assert expect(co.get(f"{API}/equity-offers/{o['id']}"), 200)["status"] == "lapsed"
    assert audited(world.app, "equity_offer", o["id"])[-1] == "equity_offer.lapsed"
    assert expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "published"
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["status"] == "defaulted" and loan["pledge"]["status"] == "registered"
    # Open again: a new offer may come and be accepted.
    o2 = expect(offer(company(world, "第三家"), lst["id"]), 201)
    assert o2["status"] == "pending"
    expect(world.bank.post(f"{API}/equity-offers/{o['id']}/accept",
                           json={"consideration_to": "pledgor", "registration_no": "X"}),
           409, "offer_not_pending")


def test_accept_for_the_pledgor_replaces_the_collateral(world):
    lst, a, ln, _seller = equity_listing(world)
    claim_before = world.claim(ln["id"], utcnow().date())
    co = company(world)
    o = expect(offer(co, lst["id"], "950000.00", "0.25"), 201)
    other = expect(offer(company(world, "落选"), lst["id"], "820000.00", "0.10"), 201)
    accept = f"{API}/equity-offers/{o['id']}/accept"
    expect(world.bank.post(accept, json={"consideration_to": "pledgor"}), 422,
           "registration_required")
    taken = ln["pledge"]["registration_no"]
    expect(world.bank.post(accept, json={"consideration_to": "pledgor",
                                         "registration_no": taken}),
           409, "duplicate_registration_no")
    assert expect(world.bank.get(f"{API}/equity-offers/{o['id']}"), 200)["status"] == "pending"
    reg = unique_no("GQ")
    got = expect(world.bank.post(accept, json={"consideration_to": "pledgor",
                                               "registration_no": reg}), 200)
    assert got["status"] == "accepted" and got["consideration_to"] == "pledgor"
    assert expect(world.bank.get(f"{API}/equity-offers/{other['id']}"), 200)["status"] == "rejected"
    assert expect(world.bank.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "settled"
    # The IP passed to the company.
    assert expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)["owner_org_id"] == \
        co.user["org_id"]
    # The loan: still defaulted, its claim unchanged, now secured by the shares.
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["status"] == "defaulted"
    assert loan["pledge"]["registration_no"] == reg and loan["pledge"]["status"] == "registered"
    eq_id = got["equity_asset_id"]
    assert loan["pledge"]["asset_ids"] == [eq_id]
    eq = expect(world.bank.get(f"{API}/assets/{eq_id}"), 200)
    assert eq["kind"] == "equity_interest" and eq["expires_on"] is None
    assert eq["owner_org_id"] == world.borrower_id
    assert [money(v["amount"]) for v in eq["valuations"]] == [money("950000.00")]
    assert money(eq["current_value"]) == money("950000.00")
    assert world.claim(ln["id"], utcnow().date()) == claim_before
    # The public register: the IP's pledge released, the shares' pledge registered.
    old = expect(world.anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"),
                 200)["items"]
    assert [(r["registration_no"], r["status"]) for r in old] == [(taken, "released")]
    new = expect(world.anon.get(f"{API}/registry/pledges?registration_no={reg}"), 200)["items"]
    assert [(r["registry_no"], r["asset_kind"], r["status"]) for r in new] == \
        [(eq["registry_no"], "equity_interest", "registered")]
    expect(world.bank.post(accept, json={"consideration_to": "pledgor",
                                         "registration_no": unique_no("GQ")}),
           409, "offer_not_pending")
    # Every step is in the audit log.
    app = world.app
    assert audited(app, "equity_offer", o["id"]) == [
        "equity_offer.create", "equity_offer.accepted", "equity_offer.collateral_replaced"]
    assert audited(app, "equity_offer", other["id"]) == ["equity_offer.create",
                                                         "equity_offer.rejected"]
    assert audited(app, "pledge", ln["pledge"]["id"])[-1] == "pledge.release"
    assert audited(app, "pledge", loan["pledge"]["id"]) == ["pledge.register"]
    assert audited(app, "asset", eq_id) == ["asset.create", "valuation.create"]
    assert audited(app, "asset", a["id"])[-1] == "asset.transfer"
    assert "listing.settled" in audited(app, "listing", lst["id"])


def test_pledgor_consideration_needs_a_pledged_listing(world):
    lst, _a, _ln, _seller = equity_listing(world, pledged=False)
    o = expect(offer(company(world), lst["id"]), 201)
    expect(world.owner.post(f"{API}/equity-offers/{o['id']}/accept",
                            json={"consideration_to": "pledgor", "registration_no": "GQ1"}),
           422, "listing_not_pledged")
    expect(world.owner.post(f"{API}/equity-offers/{o['id']}/accept",
                            json={"consideration_to": "nominee",
                                  "nominee_org_id": world.owner2.user["org_id"]}),
           422, "nominee_not_investor")
    assert expect(world.owner.get(f"{API}/equity-offers/{o['id']}"), 200)["status"] == "pending"


def test_withdrawn_listing_rejects_pending_offers(world):
    lst, _a, _ln, _seller = equity_listing(world, pledged=False)
    co = company(world)
    o = expect(offer(co, lst["id"]), 201)
    expect(world.owner.post(f"{API}/listings/{lst['id']}/withdraw", json={}), 200)
    assert expect(co.get(f"{API}/equity-offers/{o['id']}"), 200)["status"] == "rejected"
    expect(offer(co, lst["id"]), 404)  # a withdrawn listing is no longer public


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL (TEST_DATABASE_URL): two writers at once")
def test_two_acceptances_at_once_one_wins(world, app, actors):
    """Two sellers' users accept two offers of one listing at the same moment: the listing
    lock queues them; one is accepted, the other finds its offer rejected (409)."""
    lst, _a, ln, _seller = equity_listing(world)
    o1 = expect(offer(company(world), lst["id"], "900000.00"), 201)
    o2 = expect(offer(company(world, "另一家"), lst["id"], "910000.00"), 201)
    with app.app_context(), database(app).transaction() as s:
        bank_name = s.get(Org, world.bank.user["org_id"]).name
    bank_b = actors.api("bank", org=bank_name)  # a second user of the seller's bank
    assert bank_b.user["org_id"] == world.bank.user["org_id"]
    clients = [world.bank, bank_b]
    for c in clients:
        c.client = app.test_client()
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def go(i, oid, reg):
        barrier.wait()
        resp = clients[i].post(f"{API}/equity-offers/{oid}/accept",
                               json={"consideration_to": "pledgor", "registration_no": reg})
        results[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=go, args=(i, oid, unique_no("GQ")))
               for i, oid in enumerate((o1["id"], o2["id"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0] for r in results) == [200, 409], results
    assert next(r[1] for r in results if r[0] == 409)["error"]["code"] == "offer_not_pending"
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["status"] == "defaulted" and loan["pledge"]["status"] == "registered"
