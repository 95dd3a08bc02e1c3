"""Contract (API.md): "every response matches its documented schema" — a whole sale
(assets, loan, listing, auction, deposits, bids, settlement, payment) and its refusals,
with every /api/v1 response checked against /api/openapi.json."""
from __future__ import annotations

import pytest

from tests.contract_helpers import API, HUGE, ResponseRecorder, World, expect
from tests.test_contract_settlement import PREMIUM, COMMISSION, sell


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 2,
            "MARKET_BUYER_PREMIUM_RATE": PREMIUM, "MARKET_SELLER_COMMISSION_RATE": COMMISSION}


@pytest.fixture
def recorder(app):
    recorder = ResponseRecorder(app)
    yield recorder
    recorder.close()


@pytest.fixture
def world(recorder, app, actors):
    return World(app, actors)


def test_every_response_matches_its_documented_schema(world, recorder):
    """API.md: every response matches its documented schema (successes and errors)."""
    shares = [{"org_id": world.fund["org_id"], "share": "0.4", "cap": "500000.00"}]
    a, ln, lst, auc, as_of = sell(world, principal="3000000.00", risk_shares=shares)
    lid, aid = lst["id"], auc["id"]
    bank, inv2, op, anon = world.bank, world.investor2, world.operator, world.anon
    # Reads of everything (and the list endpoints).
    for client, url in ((bank, f"/assets/{a['id']}"), (bank, f"/loans/{ln['id']}"),
                        (bank, f"/loans/{ln['id']}/claim?as_of={as_of}"), (bank, "/orgs"),
                        (anon, f"/registry/pledges?registry_no={a['registry_no']}"),
                        (anon, "/listings?q=齿轮"), (anon, f"/listings/{lid}"),
                        (anon, f"/auctions/{aid}"), (anon, f"/auctions/{aid}/bids"),
                        (bank, f"/listings/{lid}/settlement")):
        expect(client.get(API + url), 200)
    pay = expect(inv2.post(f"{API}/listings/{lid}/payments", json={"method": "offline"}), 201)
    expect(op.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    expect(op.post(f"{API}/payments/{pay['id']}/confirm"), 409)
    expect(bank.get(f"{API}/listings/{lid}/settlement"), 200)
    expect(anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"), 200)
    # Refusals of every kind.
    b = world.asset(title="refusals")
    c = world.asset(title="pledged twice")
    world.loan([c["id"]])
    expect(bank.post(f"{API}/loans", json=world.loan_body([c["id"]])), 422)
    expect(world.owner.post(f"{API}/assets", json={"x": 1}), 422)
    expect(world.investor.post(f"{API}/assets", json={}), 403)
    expect(anon.post(f"{API}/assets", json={}), 401)
    expect(bank.get(f"{API}/loans/424242"), 404)
    expect(world.investor.post(f"{API}/auctions/{aid}/bids", json={"amount": "1.00"}), 422)
    expect(world.investor.post(f"{API}/auctions/{aid}/bids", json={"amount": "990000.00"}),
           409)
    expect(world.investor.post(f"{API}/auctions/{aid}/deposits", json={"method": "stripe"}),
           422)
    expect(world.owner.post(f"{API}/listings", json=world.listing_body(
        [b["id"]], lasts=1)), 422)
    expect(bank.post(f"{API}/loans/{HUGE}/default", json={"declared_on": "2025-01-01"}), 404)
    problems = recorder.problems(expect(anon.get("/api/openapi.json"), 200))
    assert not problems, "\n".join(problems)
    # Bids (on PostgreSQL answered before Flask) were among the bodies checked.
    bids = {status for method, path, status, _ in recorder.seen
            if (method, path) == ("post", API + "/auctions/{auction_id}/bids")}
    assert bids >= {201, 409, 422}, bids


def test_documented_error_responses_have_the_contract_shape(client):
    """API.md Conventions + OpenAPI: errors are {"error": {"code", "message"}} — so every
    documented error response (4xx and default) of every /api/v1 operation must accept it."""
    from openapi_schema_validator import OAS30Validator

    doc = expect(client.get("/api/openapi.json"), 200)
    sample = {"error": {"code": "some_code", "message": "human text"}}
    bad = []
    for path, ops in sorted(doc["paths"].items()):
        if not path.startswith(API):
            continue
        for method, op in ops.items():
            if method == "parameters":
                continue
            for status, resp in op.get("responses", {}).items():
                if not (status.startswith("4") or status == "default"):
                    continue
                if "$ref" in resp:
                    resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                if schema is None:
                    continue
                v = OAS30Validator({**schema, "components": doc["components"]})
                if not v.is_valid(sample):
                    bad.append(f"{method.upper()} {path} {status}")
    assert not bad, f"{len(bad)} error responses documented with another shape:\n" + \
        "\n".join(bad)
