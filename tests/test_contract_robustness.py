"""Contract (API.md Conventions): "never a 500, and a refused call writes nothing" — odd
but plausible inputs from outside systems: ids in bodies that do not exist (however
large), amounts at the edge of storage, impossible dates, odd paging and queries."""
from __future__ import annotations

import pytest

from tests.contract_helpers import API, HUGE, World, call, expect

BIG = int(HUGE)


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _refused(cases):
    """cases: (api, method, path, json, allowed statuses) — all mismatches at once."""
    bad = []
    for api, method, path, json, allowed in cases:
        got, data = call(api, method, path, json)
        if got not in allowed:
            bad.append(f"{method} {API}{path} {json!r}: expected one of {sorted(allowed)}, "
                       f"got {got} {data}")
    assert not bad, "\n".join(bad)


def test_ids_in_bodies_that_do_not_exist(world):
    """API.md: an id that does not exist (however large) is 404 — never a 500 (in a body the
    refusal may be 422)."""
    a = world.asset()
    world.value(a["id"])
    lb = world.loan_body([a["id"]])
    nf = {404, 422}
    asset = {"kind": "invention_patent", "registry_no": "ZL-ROBUST-1", "title": "t",
             "expires_on": "2040-01-01"}
    _refused([
        (world.bank, "POST", "/assets", {**asset, "owner_org_id": BIG}, nf),
        (world.bank, "POST", "/assets", {**asset, "owner_org_id": 987654}, nf),
        (world.owner, "POST", "/assets", {**asset, "owner_org_id": BIG}, {403, 404, 422}),
        (world.bank, "POST", "/loans", {**lb, "borrower_org_id": BIG}, nf),
        (world.bank, "POST", "/loans", {**lb, "pledge": {**lb["pledge"], "asset_ids": [BIG]}},
         nf),
        (world.bank, "POST", "/loans", {**lb, "pledge": {**lb["pledge"], "asset_ids": []}},
         {422}),
        (world.bank, "POST", "/loans", {**lb, "risk_shares": [{"org_id": BIG, "share": "0.1"}]},
         nf),
        (world.owner, "POST", "/listings", world.listing_body([BIG]), nf),
        (world.owner, "POST", "/listings", world.listing_body([]), {422}),
        (world.bank, "POST", "/listings", world.listing_body([a["id"]], BIG), nf),
        (world.owner, "POST", "/listings", world.listing_body(
            [a["id"]], backstop={"org_id": BIG, "price": "600000.00"}), nf),
        (world.owner, "GET", f"/listings?kind=spaceship", None, {200, 422}),
    ])
    # Nothing was written by the refusals: the asset is still free and the name unused.
    world.loan([a["id"]])
    expect(world.owner.post(f"{API}/assets", json={**asset, "owner_org_id": world.borrower_id}),
           201)


def test_amounts_at_the_edge_and_impossible_dates(world):
    """API.md: negative, oversized or non-numeric amounts and wrong types are 422."""
    a = world.asset()
    lb = world.loan_body([a["id"]])
    val = {"valued_on": "2026-01-01", "method": "income", "agency": "x"}
    oversized = ["99999999999999999.99", "92233720368547758.08", "1e17", str(BIG)]
    cases = []
    for amt in oversized:
        cases += [
            (world.owner, "POST", f"/assets/{a['id']}/valuations", {**val, "amount": amt},
             {422}),
            (world.bank, "POST", "/loans", {**lb, "principal": amt}, {422}),
        ]
    cases += [
        (world.bank, "POST", "/loans", {**lb, "disbursed_on": "2024-02-30"}, {422}),
        (world.bank, "POST", "/loans", {**lb, "maturity_on": "2023-01-01"}, {422}),
        (world.bank, "POST", "/loans", {**lb, "annual_rate": "1.5"}, {422}),
        (world.bank, "POST", "/loans", {**lb, "annual_rate": "-0.01"}, {422}),
        (world.bank, "POST", "/loans", {**lb, "principal": "0.001"}, {422}),
        (world.bank, "POST", "/loans", {**lb, "risk_shares": [
            {"org_id": world.fund["org_id"], "share": "0.5", "cap": "-1.00"}]}, {422}),
        (world.bank, "POST", "/loans", [lb], {422}),
        (world.bank, "POST", "/loans", "just a string", {422}),
        (world.owner, "POST", f"/assets/{a['id']}/valuations",
         {**val, "amount": "1.00", "valued_on": "2026-13-01"}, {422}),
        (world.owner, "POST", f"/assets/{a['id']}/valuations",
         {**val, "amount": "1.00", "valid_until": "2025-01-01"}, {422}),
    ]
    _refused(cases)
    loans = expect(world.bank.get(f"{API}/loans"), 200)
    assert loans["total"] == 0, loans
    world.loan([a["id"]])


def test_bid_and_cost_amounts(world):
    """API.md: non-numeric, negative, sub-cent or oversized bid and cost amounts are 422."""
    a, ln = world.collateral()
    lst = world.publish(world.bank, world.listing_body([a["id"]], ln["id"]))
    aid = lst["auction_id"]
    cases = []
    for amt in ("99999999999999999.99", "1e17", str(BIG), "700000.001", "-700000.00", "",
                "七十万", None, [], {"v": 1}):
        cases += [
            (world.investor, "POST", f"/auctions/{aid}/bids", {"amount": amt}, {422}),
            (world.bank, "POST", f"/listings/{lst['id']}/costs",
             {"amount": amt, "description": "x"}, {422}),
            (world.bank, "POST", f"/loans/{ln['id']}/costs",
             {"amount": amt, "incurred_on": "2025-01-01", "description": "x"}, {422}),
            (world.bank, "POST", f"/loans/{ln['id']}/repayments",
             {"amount": amt, "paid_on": "2025-01-01"}, {422}),
        ]
    _refused(cases)
    assert world.auction(aid)["bid_count"] == 0
    assert expect(world.anon.get(f"{API}/auctions/{aid}/bids"), 200)["total"] == 0


def test_odd_paging_queries_and_dates(world):
    """API.md: lists page and clamp; a bad query value is 422, never a 500."""
    a = world.asset()
    ln = world.loan([a["id"]])
    anon = world.anon
    _refused([
        (anon, "GET", "/listings?page=0", None, {200, 422}),
        (anon, "GET", "/listings?page=-1", None, {200, 422}),
        (anon, "GET", "/listings?per_page=0", None, {200, 422}),
        (anon, "GET", "/listings?per_page=abc", None, {422}),
        (anon, "GET", f"/listings?page={BIG}", None, {200, 422}),
        (anon, "GET", "/listings?q=" + "齿轮" * 500, None, {200, 422}),
        (anon, "GET", "/listings?q=%27%3B%20drop%20table%20listings%3B--", None, {200}),
        (anon, "GET", "/listings?q=a%25_b%5C", None, {200}),
        (anon, "GET", "/registry/pledges?page=abc", None, {422}),
        (world.bank, "GET", "/orgs?per_page=-5", None, {200, 422}),
        (world.bank, "GET", f"/loans/{ln['id']}/claim?as_of=9999-12-31", None, {200, 422}),
        (world.bank, "GET", f"/loans/{ln['id']}/claim?as_of=0001-01-01", None, {200, 422}),
        (world.bank, "GET", f"/loans/{ln['id']}/claim?as_of=2025-02-29", None, {422}),
    ])
    status, data = call(anon, "GET", f"/listings?page={BIG}")
    if status == 200:
        assert data["items"] == [], data
