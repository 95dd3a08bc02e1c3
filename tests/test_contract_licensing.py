"""Contract (API.md "Licensing"), black box: licensing terms and their refusals, open and
negotiated licences, acceptance and rejection, payment of the upfront fee, where the money
goes (commission, the loan's claim as a recovery, the owner), conflicts between licences,
the scheduler's cancellations and expiries, and the public licence register. conftest runs
`flask ledger verify` after each test."""
from __future__ import annotations

import datetime as dt

import pytest

from market import settings_store, timeutil
from market.accounts.models import Org
from market.db import database
from tests.contract_helpers import API, D, World, expect, market_today, money

LICENCE_KEYS = {"id", "listing_id", "asset_ids", "licensee_org_id", "kind", "open", "field",
                "territory", "term_months", "starts_on", "ends_on", "upfront_fee",
                "royalty_rate", "minimum_annual_royalty", "status", "paid_total",
                "applied_to_loan", "paid_to_owner"}
FEE = "100000.00"


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def terms(kind="non_exclusive", **kw) -> dict:
    return {"kind": kind, "term_months": 12, "upfront_fee": FEE, **kw}


def body(world, asset_ids, loan_id=None, *, title="专利许可：行星齿轮减速器", **kw) -> dict:
    data = {"title": title, "asset_ids": list(asset_ids), "mode": "licensing"}
    if loan_id is not None:
        data["loan_id"] = loan_id
        data["pledgor_consent_ref"] = "出质人同意书 2025-04-01"
    data.update(kw)
    data.setdefault("licensing", terms())
    return data


def publish(world, who, data) -> dict:
    lst = world.listing(who, data)
    expect(who.post(f"{API}/listings/{lst['id']}/submit"), 200)
    return expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)


def bank_open_licence(world, principal="3000000.00"):
    """A bank's open licence over pledged IP of a defaulted loan → (asset, loan, listing)."""
    a, ln = world.collateral(principal=principal)
    lst = publish(world, world.bank, body(world, [a["id"]], ln["id"],
                                          licensing=terms(open=True)))
    return a, ln, lst


def apply(world, who, listing_id, status=201, code=None) -> dict:
    return expect(who.post(f"{API}/listings/{listing_id}/licences", json={}), status, code)


def pay_offline(world, who, licence_id) -> dict:
    p = expect(who.post(f"{API}/licences/{licence_id}/payments", json={"method": "offline"}), 201)
    assert p["status"] == "pending" and money(p["amount"]) == D(FEE), p
    return expect(world.operator.post(f"{API}/payments/{p['id']}/confirm"), 200)


def licence(world, who, licence_id, status=200) -> dict:
    return expect(who.get(f"{API}/licences/{licence_id}"), status)


def set_setting(app, key, value):
    with app.app_context(), database(app).transaction() as s:
        settings_store.put(s, key, value, actor_id=None)


# ---------------------------------------------------------------- terms

def test_a_licensing_listing_shows_its_terms(world):
    a = world.asset()
    lst = world.listing(world.owner, body(world, [a["id"]], licensing=terms(
        "sole", field="机器人减速器", territory="CN", royalty_rate="0.05",
        minimum_annual_royalty="20000.00")))
    assert lst["mode"] == "licensing" and lst["status"] == "draft"
    assert lst["licensing"] == {"kind": "sole", "open": False, "field": "机器人减速器",
                                "territory": "CN", "term_months": 12, "upfront_fee": FEE,
                                "royalty_rate": "0.05", "minimum_annual_royalty": "20000.00"}
    got = expect(world.owner.get(f"{API}/listings/{lst['id']}"), 200)
    assert got["licensing"] == lst["licensing"]


def test_the_terms_are_refused_with_the_contract_codes(world, actors):
    a = world.asset()
    cases = [
        (body(world, [a["id"]], licensing=None), "licensing_terms_required"),
        (body(world, [a["id"]], licensing=terms("exclusive", open=True)),
         "open_licence_must_be_non_exclusive"),
        (body(world, [a["id"]], licensing=terms(term_months=12 * 30)), "term_exceeds_asset"),
        (body(world, [a["id"]], licensing=terms(upfront_fee="0.00")),
         "upfront_fee_not_positive"),
    ]
    tm = world.asset(kind="trademark")
    cases.append((body(world, [tm["id"]], licensing=terms(open=True)),
                  "open_licence_patents_only"))
    def mine():
        return expect(world.owner.get(f"{API}/listings?mine=true&status=draft"), 200)["total"]

    before = mine()
    for data, code in cases:
        expect(world.owner.post(f"{API}/listings", json=data), 422, code)
    assert mine() == before  # a refused call writes nothing
    # Co-owned: every co-owner's consent.
    co = actors.api("owner", org="共有人 公司")
    shared = expect(world.owner.post(f"{API}/assets", json={
        "kind": "invention_patent", "registry_no": "ZL2020112233.4", "title": "共有专利",
        "owner_org_id": world.borrower_id, "expires_on": "2040-01-01",
        "co_owner_org_ids": [co.user["org_id"]]}), 201)
    expect(world.owner.post(f"{API}/listings", json=body(world, [shared["id"]])), 422,
           "co_owner_consent_missing")
    # Recorded by that co-owner itself (API.md "Assets"), not by the owner.
    expect(co.post(f"{API}/assets/{shared['id']}/co-owners/{co.user['org_id']}/consent",
                   json={"consent_ref": "共有人同意书"}), 200)
    world.listing(world.owner, body(world, [shared["id"]]))
    assert mine() == before + 1


def test_pledged_ip_needs_the_other_partys_consent(world):
    a, ln = world.collateral()
    data = body(world, [a["id"]], ln["id"])
    del data["pledgor_consent_ref"]
    expect(world.bank.post(f"{API}/listings", json=data), 422, "pledgor_consent_required")
    lst = world.listing(world.bank, body(world, [a["id"]], ln["id"]))
    assert lst["pledgor_consent_ref"] == "出质人同意书 2025-04-01"
    # The owner licensing its own pledged IP needs the pledgee bank's consent.
    own = body(world, [a["id"]])
    expect(world.owner.post(f"{API}/listings", json=own), 422, "pledgee_consent_required")
    lst2 = world.listing(world.owner, {**own, "pledgee_consent_ref": "质权人同意函"})
    # Both licensing listings of the same asset may be live at once.
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 200)
    expect(world.owner.post(f"{API}/listings/{lst2['id']}/submit"), 200)


def test_terms_are_for_licensing_only(world):
    a = world.asset()
    world.value(a["id"])
    data = {"title": "作价入股", "asset_ids": [a["id"]], "mode": "equity",
            "equity": {"min_valuation": "1000000.00"}, "licensing": terms()}
    expect(world.owner.post(f"{API}/listings", json=data), 422, "licensing_terms_not_allowed")


# ---------------------------------------------------------------- open licence and money

def test_an_open_licence_is_taken_paid_and_pays_down_the_claim(world):
    a, ln, lst = bank_open_licence(world)
    today = market_today()
    before = money(world.claim(ln["id"], today)["total"])
    lic = apply(world, world.investor, lst["id"])
    assert set(lic) == LICENCE_KEYS, lic
    assert lic["status"] == "awaiting_payment" and lic["open"] is True
    assert lic["licensee_org_id"] == world.investor.user["org_id"]
    # Only the licensee pays; nobody else sees the licence.
    expect(world.investor2.post(f"{API}/licences/{lic['id']}/payments",
                                json={"method": "offline"}), 404)
    licence(world, world.investor2, lic["id"], 404)
    paid = pay_offline(world, world.investor, lic["id"])
    assert paid["status"] == "paid"
    got = licence(world, world.investor, lic["id"])
    assert got["status"] == "active" and got["starts_on"] == today.isoformat()
    # term_months 12: the same day a year on (29 February becomes the 28th).
    ends = dt.date(today.year + 1, today.month, 28 if (today.month, today.day) == (2, 29)
                   else today.day)
    assert got["ends_on"] == ends.isoformat()
    commission = D(FEE) * D("0.01")
    assert money(got["paid_total"]) == D(FEE)
    assert money(got["applied_to_loan"]) == D(FEE) - commission
    assert money(got["paid_to_owner"]) == D("0.00")
    after = money(world.claim(ln["id"], today)["total"])
    assert before - after == D(FEE) - commission
    # The seller, the licensor (owner) and operators read it too.
    for who in (world.bank, world.owner, world.operator):
        assert licence(world, who, lic["id"])["status"] == "active"
    # Paid: nothing more to pay.
    expect(world.investor.post(f"{API}/licences/{lic['id']}/payments",
                               json={"method": "offline"}), 409, "licence_not_payable")
    # The public register lists it (no token).
    reg = expect(world.anon.get(f"{API}/registry/licences?registry_no={a['registry_no']}"), 200)
    assert reg["total"] == 1
    row = reg["items"][0]
    assert set(row) == {"registry_no", "kind", "licensor", "licensee", "field", "territory",
                        "starts_on", "ends_on"}
    assert (row["registry_no"], row["kind"], row["field"], row["territory"]) == (
        a["registry_no"], "non_exclusive", "", "CN")
    assert (row["starts_on"], row["ends_on"]) == (today.isoformat(), ends.isoformat())
    # The licensor of record is the owner (the pledgor), not the bank that listed it.
    assert row["licensor"].startswith("苏州精密传动") and row["licensee"].startswith("前海投资")
    # Loan not cleared: still defaulted, pledge registered.
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["status"] == "defaulted"


def test_a_fee_that_clears_the_claim_settles_the_loan_the_rest_to_the_owner(world):
    a, ln, lst = bank_open_licence(world, principal="50000.00")
    lic = apply(world, world.investor, lst["id"])
    owed = money(world.claim(ln["id"], market_today())["total"])
    assert owed < D(FEE) * D("0.99")
    pay_offline(world, world.investor, lic["id"])
    got = licence(world, world.investor, lic["id"])
    assert money(got["applied_to_loan"]) == owed
    assert money(got["paid_to_owner"]) == D(FEE) * D("0.99") - owed
    assert money(world.claim(ln["id"], market_today())["total"]) == D("0.00")
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["status"] == "settled"
    reg = expect(world.anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"), 200)
    assert reg["items"][0]["status"] == "released"


def test_without_a_loan_the_fee_less_commission_goes_to_the_owner(world):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]]))
    lic = apply(world, world.investor, lst["id"])
    assert lic["status"] == "applied"
    lic = expect(world.owner.post(f"{API}/licences/{lic['id']}/accept"), 200)
    assert lic["status"] == "awaiting_payment"
    pay_offline(world, world.investor, lic["id"])
    got = licence(world, world.owner, lic["id"])
    assert (money(got["paid_to_owner"]), money(got["applied_to_loan"])) == (
        D(FEE) * D("0.99"), D("0.00"))


# ---------------------------------------------------------------- applications

def test_applications_accept_reject_and_who_may_apply(world):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]], licensing=terms("exclusive")))
    # Banks do not take licences (role).
    expect(world.bank.post(f"{API}/listings/{lst['id']}/licences", json={}), 403, "forbidden")
    one = apply(world, world.investor, lst["id"])
    two = apply(world, world.investor2, lst["id"])
    three = apply(world, world.investor3, lst["id"])
    apply(world, world.investor, lst["id"], 409, "licence_exists")
    # Only the seller decides.
    expect(world.investor.post(f"{API}/licences/{one['id']}/accept"), 403)
    expect(world.owner2.post(f"{API}/licences/{one['id']}/accept"), 404)
    rej = expect(world.owner.post(f"{API}/licences/{three['id']}/reject",
                                  json={"reason": "资质不符"}), 200)
    assert rej["status"] == "rejected"
    expect(world.owner.post(f"{API}/licences/{three['id']}/reject", json={"reason": "x"}), 409,
           "invalid_transition")
    expect(world.investor.post(f"{API}/licences/{one['id']}/payments",
                               json={"method": "offline"}), 409, "licence_not_payable")
    acc = expect(world.owner.post(f"{API}/licences/{one['id']}/accept"), 200)
    assert acc["status"] == "awaiting_payment"
    # Exclusive: the other applications are rejected and the listing is licensed.
    assert licence(world, world.investor2, two["id"])["status"] == "rejected"
    assert expect(world.anon.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "licensed"
    apply(world, world.owner2, lst["id"], 409, "listing_not_published")


def test_a_withdrawn_listing_accepts_no_more_licences(world):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]]))
    lic = apply(world, world.investor, lst["id"])
    expect(world.owner.post(f"{API}/listings/{lst['id']}/withdraw", json={}), 200)
    expect(world.owner.post(f"{API}/licences/{lic['id']}/accept"), 409, "listing_not_published")
    assert licence(world, world.investor, lic["id"])["status"] == "applied"


def test_seller_org_applying_is_refused(world):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]]))
    with world.app.app_context(), database(world.app).transaction() as s:
        name = s.get(Org, world.borrower_id).name
    colleague = world.actors.api("owner", org=name)  # a colleague of the seller
    assert colleague.user["org_id"] == world.borrower_id
    apply(world, colleague, lst["id"], 403, "seller_cannot_license")


# ---------------------------------------------------------------- conflicts

def _active_exclusive(world, field="机器人"):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]], licensing=terms(
        "exclusive", field=field)))
    lic = apply(world, world.investor, lst["id"])
    expect(world.owner.post(f"{API}/licences/{lic['id']}/accept"), 200)
    pay_offline(world, world.investor, lic["id"])
    return a, lst, lic


def test_nothing_over_an_exclusive_licence_in_force(world):
    a, _lst, _lic = _active_exclusive(world)
    # Same asset, field and territory: refused on submit.
    lst = world.listing(world.owner, body(world, [a["id"]], licensing=terms(field="机器人")))
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 409, "licence_conflict")
    # Another field is free.
    other = publish(world, world.owner, body(world, [a["id"]], licensing=terms(field="汽车")))
    assert other["status"] == "published"
    # Every field (empty) overlaps the exclusive field.
    every = world.listing(world.owner, body(world, [a["id"]], licensing=terms()))
    expect(world.owner.post(f"{API}/listings/{every['id']}/submit"), 409, "licence_conflict")


def test_conflicts_are_checked_on_approve_application_and_acceptance(world):
    a = world.asset()
    # Two non-exclusive listings in the same field, one sole listing; all published.
    plain = publish(world, world.owner, body(world, [a["id"]], licensing=terms(field="机器人")))
    sole_draft = world.listing(world.owner, body(world, [a["id"]], licensing=terms(
        "sole", field="机器人")))
    expect(world.owner.post(f"{API}/listings/{sole_draft['id']}/submit"), 200)
    sole = expect(world.operator.post(f"{API}/listings/{sole_draft['id']}/approve"), 200)
    s_app = apply(world, world.investor2, sole["id"])
    # A non-exclusive licence becomes payable: the sole one may no longer be accepted.
    p_lic = apply(world, world.investor, plain["id"])
    expect(world.owner.post(f"{API}/licences/{p_lic['id']}/accept"), 200)
    expect(world.owner.post(f"{API}/licences/{s_app['id']}/accept"), 409, "licence_conflict")
    apply(world, world.investor3, sole["id"], 409, "licence_conflict")
    # Approve: a sole listing submitted now is refused at approval.
    late = world.listing(world.owner, body(world, [a["id"]], licensing=terms(
        "sole", field="机器人", territory="HK")))
    expect(world.owner.post(f"{API}/listings/{late['id']}/submit"), 200)
    other = publish(world, world.owner, body(world, [a["id"]], licensing=terms(
        field="机器人", territory="HK")))
    o_lic = apply(world, world.investor, other["id"])
    expect(world.owner.post(f"{API}/licences/{o_lic['id']}/accept"), 200)
    expect(world.operator.post(f"{API}/listings/{late['id']}/approve"), 409, "licence_conflict")


def test_no_exclusive_licence_under_an_open_licence(world):
    a = world.asset()
    publish(world, world.owner, body(world, [a["id"]], licensing=terms(open=True)))
    ex = world.listing(world.owner, body(world, [a["id"]], licensing=terms("exclusive",
                                                                           field="汽车")))
    expect(world.owner.post(f"{API}/listings/{ex['id']}/submit"), 409, "licence_conflict")


# ---------------------------------------------------------------- the scheduler

def test_unpaid_licence_is_cancelled_after_the_setting_and_the_listing_reopens(world, app):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]], licensing=terms("exclusive")))
    lic = apply(world, world.investor, lst["id"])
    expect(world.owner.post(f"{API}/licences/{lic['id']}/accept"), 200)
    pending = expect(world.investor.post(f"{API}/licences/{lic['id']}/payments",
                                         json={"method": "offline"}), 201)
    timeutil.advance(dt.timedelta(days=3))
    world.run_once()  # default 10 days: still payable
    assert licence(world, world.investor, lic["id"])["status"] == "awaiting_payment"
    set_setting(app, "licence_payment_days", "2")
    # The deadline was fixed when the licence became payable: a new one is needed to see
    # the shorter setting, so the first is left to the default deadline.
    timeutil.advance(dt.timedelta(days=8))
    world.run_once()
    assert licence(world, world.investor, lic["id"])["status"] == "cancelled"
    assert expect(world.anon.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "published"
    pay = expect(world.operator.get(f"{API}/payments/{pending['id']}"), 200)
    assert pay["status"] == "cancelled"
    # With the setting at 2 days, the next accepted licence lapses after 2 days.
    lic2 = apply(world, world.investor2, lst["id"])
    expect(world.owner.post(f"{API}/licences/{lic2['id']}/accept"), 200)
    timeutil.advance(dt.timedelta(days=1))
    world.run_once()
    assert licence(world, world.investor2, lic2["id"])["status"] == "awaiting_payment"
    timeutil.advance(dt.timedelta(days=1, hours=1))
    world.run_once()
    assert licence(world, world.investor2, lic2["id"])["status"] == "cancelled"


def test_an_active_licence_expires_and_leaves_the_register(world):
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]], licensing=terms(
        open=True, term_months=1)))
    lic = apply(world, world.investor, lst["id"])
    pay_offline(world, world.investor, lic["id"])
    url = f"{API}/registry/licences?registry_no={a['registry_no']}"
    assert expect(world.anon.get(url), 200)["total"] == 1
    timeutil.advance(dt.timedelta(days=32))
    world.run_once()
    assert licence(world, world.investor, lic["id"])["status"] == "expired"
    assert expect(world.anon.get(url), 200)["total"] == 0


def test_unknown_ids_and_bad_bodies(world):
    expect(world.investor.get(f"{API}/licences/999999"), 404)
    expect(world.investor.get(f"{API}/licences/99999999999999999999"), 404)
    expect(world.investor.post(f"{API}/listings/999999/licences", json={}), 404)
    expect(world.bank.post(f"{API}/listings/1/licences", json={}), 403)
    expect(world.anon.get(f"{API}/licences/1"), 401)
    a = world.asset()
    lst = publish(world, world.owner, body(world, [a["id"]]))
    expect(world.investor.post(f"{API}/listings/{lst['id']}/licences", json={"x": 1}), 422)
    lic = apply(world, world.investor, lst["id"])
    expect(world.owner.post(f"{API}/licences/{lic['id']}/reject", json={}), 422)
    expect(world.investor.post(f"{API}/licences/{lic['id']}/payments",
                               json={"method": "cash"}), 422)
