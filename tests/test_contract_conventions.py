"""Contract (API.md "Conventions", "CLI", OpenAPI): auth, check order, error shape, money,
lists, instants — black box, through HTTP with bearer tokens and the real CLI."""
from __future__ import annotations

import re

import pytest

from tests.contract_helpers import (API, HUGE, World, assert_error_shape, assert_list, body,
                                    check_cases, expect, instant, is_money)

PROTECTED = [
    ("GET", "/orgs"),
    ("POST", "/assets"),
    ("GET", "/assets/1"),
    ("POST", "/assets/1/valuations"),
    ("POST", "/loans"),
    ("GET", "/loans/1"),
    ("POST", "/loans/1/costs"),
    ("POST", "/loans/1/repayments"),
    ("POST", "/loans/1/default"),
    ("GET", "/loans/1/claim?as_of=2025-03-01"),
    ("POST", "/listings"),
    ("POST", "/listings/1/submit"),
    ("POST", "/listings/1/approve"),
    ("POST", "/listings/1/reject"),
    ("POST", "/listings/1/withdraw"),
    ("POST", "/listings/1/costs"),
    ("POST", "/listings/1/payments"),
    ("GET", "/listings/1/settlement"),
    ("POST", "/auctions/1/deposits"),
    ("POST", "/deposits/1/confirm"),
    ("POST", "/auctions/1/bids"),
    ("POST", "/payments/1/confirm"),
]

# Every path and method API.md names (OpenAPI must document each).
CONTRACT_PATHS = [
    ("get", "/orgs"), ("post", "/assets"), ("get", "/assets/{}"),
    ("post", "/assets/{}/valuations"), ("post", "/loans"), ("get", "/loans/{}"),
    ("post", "/loans/{}/costs"), ("post", "/loans/{}/repayments"),
    ("post", "/loans/{}/default"), ("get", "/loans/{}/claim"), ("get", "/registry/pledges"),
    ("post", "/listings"), ("get", "/listings"), ("get", "/listings/{}"),
    ("post", "/listings/{}/submit"), ("post", "/listings/{}/approve"),
    ("post", "/listings/{}/reject"), ("post", "/listings/{}/withdraw"),
    ("post", "/listings/{}/costs"), ("get", "/auctions/{}"),
    ("post", "/auctions/{}/deposits"), ("post", "/deposits/{}/confirm"),
    ("post", "/auctions/{}/bids"), ("get", "/auctions/{}/bids"),
    ("post", "/listings/{}/payments"), ("post", "/payments/{}/confirm"),
    ("get", "/listings/{}/settlement"),
]


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _call(client, method, path, headers=None, json=None):
    fn = getattr(client, method.lower())
    kw = {"headers": headers or {}}
    if method == "POST":
        kw["json"] = json if json is not None else {}
    return fn(API + path, **kw)


@pytest.mark.parametrize("method,path", PROTECTED)
def test_missing_or_bad_token_is_401_everywhere_not_public(client, method, path):
    """API.md Conventions: elsewhere a missing or bad token is 401 (before any other check)."""
    for headers in ({}, {"Authorization": "Bearer not-a-real-token"},
                    {"Authorization": "Basic Zm9vOmJhcg=="}):
        resp = _call(client, method, path, headers)
        assert resp.status_code == 401, (method, path, headers, resp.status_code, body(resp))
        assert_error_shape(body(resp))


def test_public_endpoints_need_no_token(world):
    """API.md Conventions: OpenAPI, register, GET published listings, auctions and bids
    are public."""
    a = world.asset(title="一种齿轮 public")
    lst = world.publish(world.owner, world.listing_body([a["id"]], title="公开拍卖 public"))
    anon = world.anon
    assert anon.get("/api/openapi.json").status_code == 200
    expect(anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"), 200)
    assert_list(expect(anon.get(f"{API}/listings"), 200))
    assert expect(anon.get(f"{API}/listings/{lst['id']}"), 200)["id"] == lst["id"]
    auc = expect(anon.get(f"{API}/auctions/{lst['auction_id']}"), 200)
    assert auc["id"] == lst["auction_id"]
    expect(anon.get(f"{API}/auctions/{lst['auction_id']}/bids"), 200)


def test_check_order_403_before_422(world):
    """API.md Conventions: 401 → 403 → 422 → 404 → 409: a wrong role with a bad body is 403."""
    inv, bank = world.investor, world.bank
    check_cases([
        (inv, "POST", "/loans", {"nonsense": True}, 403),
        (inv, "POST", "/assets", {"nonsense": True}, 403),
        (inv, "POST", "/listings", {"nonsense": True}, 403),
        (bank, "POST", "/listings/1/approve", {}, 403),
        (bank, "POST", f"/listings/{HUGE}/reject", {"bad": 1}, 403),
        (inv, "POST", f"/deposits/{HUGE}/confirm", {}, 403),
        (inv, "POST", f"/payments/{HUGE}/confirm", {}, 403),
        (bank, "POST", f"/auctions/{HUGE}/bids", {"amount": "x"}, 403),
        (bank, "POST", f"/auctions/{HUGE}/deposits", {"method": "cash"}, 403),
        (inv, "POST", f"/loans/{HUGE}/default", {"declared_on": "nope"}, 403),
        (inv, "POST", f"/listings/{HUGE}/costs", {"amount": "-1"}, 403),
    ])


def test_check_order_422_before_404_before_409(world):
    """API.md Conventions: a bad body to a missing object is 422; a good body is 404
    (however large)."""
    bank, op, inv, anon = world.bank, world.operator, world.investor, world.anon
    cost = {"amount": "5.00", "incurred_on": "2025-01-01", "description": "x"}
    val = {"amount": "1.00", "valued_on": "2025-01-01", "method": "income", "agency": "x"}
    cases = []
    for n in (HUGE, "424242"):
        cases += [
            (bank, "POST", f"/loans/{n}/default", {"declared_on": "not a date"}, 422),
            (bank, "POST", f"/loans/{n}/default", {"declared_on": "2025-03-10"}, 404),
            (bank, "POST", f"/loans/{n}/repayments", {"amount": "-5"}, 422),
            (bank, "POST", f"/loans/{n}/repayments", {"amount": "5.00", "paid_on": "2025-01-01"},
             404),
            (bank, "POST", f"/loans/{n}/costs", {**cost, "amount": "abc"}, 422),
            (bank, "POST", f"/loans/{n}/costs", cost, 404),
            (bank, "GET", f"/loans/{n}/claim?as_of=2025-01-01", None, 404),
            (bank, "GET", f"/loans/{n}", None, 404),
            (bank, "GET", f"/assets/{n}", None, 404),
            (bank, "POST", f"/assets/{n}/valuations", {**val, "method": "x"}, 422),
            (bank, "POST", f"/assets/{n}/valuations", val, 404),
            (bank, "POST", f"/listings/{n}/submit", {}, 404),
            (bank, "POST", f"/listings/{n}/withdraw", {}, 404),
            (bank, "POST", f"/listings/{n}/costs", {"amount": "1.00"}, 422),
            (bank, "POST", f"/listings/{n}/costs", {"amount": "1.00", "description": "x"}, 404),
            (bank, "GET", f"/listings/{n}/settlement", None, 404),
            (bank, "GET", f"/listings/{n}", None, 404),
            (op, "POST", f"/listings/{n}/reject", {"reason": 5}, 422),
            (op, "POST", f"/listings/{n}/reject", {"reason": "x"}, 404),
            (op, "POST", f"/listings/{n}/approve", {}, 404),
            (op, "POST", f"/deposits/{n}/confirm", {}, 404),
            (op, "POST", f"/payments/{n}/confirm", {}, 404),
            (inv, "POST", f"/auctions/{n}/deposits", {"method": "cash"}, 422),
            (inv, "POST", f"/auctions/{n}/deposits", {"method": "offline"}, 404),
            (inv, "POST", f"/auctions/{n}/bids", {"amount": "x"}, 422),
            (inv, "POST", f"/auctions/{n}/bids", {"amount": "100.00"}, 404),
            (inv, "POST", f"/listings/{n}/payments", {"method": "cheque"}, 422),
            (inv, "POST", f"/listings/{n}/payments", {"method": "offline"}, 404),
            (anon, "GET", f"/auctions/{n}", None, 404),
            (anon, "GET", f"/auctions/{n}/bids", None, 404),
            (anon, "GET", f"/listings/{n}", None, 404),
        ]
    check_cases(cases)


def test_malformed_and_invalid_bodies_are_422_and_write_nothing(world):
    """API.md Conventions: malformed, unknown field, negative/oversized/non-numeric amount,
    wrong type → 422, and a refused call writes nothing."""
    reg = "ZL-MALFORMED-1"
    good = {"kind": "invention_patent", "registry_no": reg, "title": "t",
            "owner_org_id": world.borrower_id, "expires_on": "2040-01-01"}
    owner = world.owner
    resp = owner.client.post(f"{API}/assets", data="{not json",
                             headers={**owner.headers, "Content-Type": "application/json"})
    expect(resp, 422)
    bad_assets = [
        {**good, "surprise": 1},
        {**good, "kind": "spaceship"},
        {**good, "expires_on": "31/12/2040"},
        {**good, "owner_org_id": "one"},
        {**good, "title": 123},
        {k: v for k, v in good.items() if k != "title"},
        {**good, "legal_status": "alive"},
    ]
    for data in bad_assets:
        expect(owner.post(f"{API}/assets", json=data), 422)
    # Nothing was written: the same registry number is still free.
    asset = expect(owner.post(f"{API}/assets", json=good), 201)
    aid = asset["id"]
    base_val = {"amount": "1000.00", "valued_on": "2026-01-01", "method": "income",
                "agency": "中联"}
    for amount in ("-1.00", "abc", "1e30", "100000000000000000000.00", "1.234", [], True, None,
                   "NaN", "Infinity"):
        expect(owner.post(f"{API}/assets/{aid}/valuations", json={**base_val, "amount": amount}),
               422)
    expect(owner.post(f"{API}/assets/{aid}/valuations", json={**base_val, "method": "guess"}),
           422)
    expect(owner.post(f"{API}/assets/{aid}/valuations", json={**base_val, "x": 1}), 422)
    # Loans: bad bodies are 422 and the asset stays unpledged (nothing written).
    lb = world.loan_body([aid])
    bad_loans = [
        {**lb, "principal": "-3000000.00"},
        {**lb, "principal": "three million"},
        {**lb, "principal": "1" + "0" * 30},
        {**lb, "annual_rate": "abc"},
        {**lb, "annual_rate": True},
        {**lb, "disbursed_on": 20240301},
        {**lb, "pledge": {**lb["pledge"], "asset_ids": "1"}},
        {**lb, "pledge": {**lb["pledge"], "extra": 1}},
        {**lb, "unknown": "field"},
    ]
    for data in bad_loans:
        expect(world.bank.post(f"{API}/loans", json=data), 422)
    resp = world.bank.client.post(f"{API}/loans", data=b"\xff\xfe[",
                                  headers={**world.bank.headers,
                                           "Content-Type": "application/json"})
    expect(resp, 422)
    loans = expect(world.bank.get(f"{API}/loans"), 200)
    assert loans["total"] == 0, loans
    reg_list = expect(world.anon.get(f"{API}/registry/pledges?registry_no={reg}"), 200)
    assert reg_list["total"] == 0, reg_list
    world.loan([aid])  # the asset was never pledged by a refused call


def test_money_rates_dates_and_instants(world):
    """API.md Conventions: money two-decimal strings + currency; rates decimal strings;
    dates YYYY-MM-DD; instants ISO 8601 with offset, in UTC."""
    a = world.asset()
    v = world.value(a["id"], "1000000")
    assert v["amount"] == "1000000.00", v
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", v["valued_on"]), v
    ln = world.loan([a["id"]], principal="3000000")
    assert ln["principal"] == "3000000.00", ln
    assert ln.get("currency") == "CNY", ln
    assert ln["annual_rate"] == "0.0435" and ln["penalty_rate"] == "0.06525", ln
    assert ln["disbursed_on"] == "2024-03-01" and ln["maturity_on"] == "2025-03-01", ln
    claim = world.claim(ln["id"], "2025-03-01")
    for k in ("costs", "penalty_interest", "interest", "principal", "total"):
        assert is_money(claim[k]), claim
    a2 = world.asset(title="Auction instant check")
    data = world.listing_body([a2["id"]], title="instants")
    data["auction"]["starts_at"] = "2030-01-01T10:00:00+08:00"
    data["auction"]["ends_at"] = "2030-01-03T10:00:00+08:00"
    lst = world.publish(world.owner, data)
    auc = world.auction(lst["auction_id"])
    assert instant(auc["starts_at"]).isoformat() == "2030-01-01T02:00:00+00:00", auc
    assert instant(auc["ends_at"]).isoformat() == "2030-01-03T02:00:00+00:00", auc
    for k in ("start_price", "increment", "current_price", "min_next_bid"):
        if auc[k] is not None:
            assert is_money(auc[k]), auc
    got = expect(world.anon.get(f"{API}/listings/{lst['id']}"), 200)
    assert instant(got["auction"]["starts_at"]) == instant(auc["starts_at"]), got


def test_list_envelope_and_per_page(world):
    """API.md Conventions: {items, total, page, per_page}; per_page default 20, >100 → 100."""
    for name in ("bank2", "owner", "operator", "fund", "insurer"):
        getattr(world, name)
    orgs = expect(world.bank.get(f"{API}/orgs"), 200)
    items = assert_list(orgs)
    assert orgs["total"] >= 6 and items
    for o in items:
        assert set(o) >= {"id", "name", "kind"} and isinstance(o["id"], int), o
    assert_list(expect(world.bank.get(f"{API}/orgs?per_page=1000"), 200), per_page=100)
    assert_list(expect(world.bank.get(f"{API}/orgs?per_page=101"), 200), per_page=100)
    small = expect(world.bank.get(f"{API}/orgs?per_page=2&page=2"), 200)
    assert_list(small, per_page=2, page=2)
    assert len(small["items"]) == 2 and small["total"] == orgs["total"]
    name = world.bank.user["org_id"]
    mine = [o for o in items if o["id"] == name]
    assert mine and mine[0]["kind"] == "bank"
    found = expect(world.investor.get(f"{API}/orgs?name=风险补偿基金"), 200)
    assert [o["kind"] for o in found["items"]] == ["fund"], found
    assert_list(expect(world.anon.get(f"{API}/listings?per_page=500"), 200), per_page=100)
    for i in range(21):
        world.loan([world.asset(title=f"pledged {i}")["id"]])
    reg = expect(world.anon.get(f"{API}/registry/pledges"), 200)
    assert len(assert_list(reg)) == 20 and reg["total"] == 21, reg
    reg2 = expect(world.anon.get(f"{API}/registry/pledges?page=2"), 200)
    assert len(assert_list(reg2, page=2)) == 1 and reg2["total"] == 21, reg2
    assert {r["registration_no"] for r in reg["items"]}.isdisjoint(
        r["registration_no"] for r in reg2["items"])
    assert_list(expect(world.anon.get(f"{API}/registry/pledges?per_page=101"), 200),
                per_page=100)


def test_openapi_documents_every_contract_path(client):
    """API.md: the OpenAPI 3 document of the whole API is served at /api/openapi.json."""
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert str(doc.get("openapi", "")).startswith("3"), doc.get("openapi")
    paths = {}
    for p, ops in doc["paths"].items():
        paths[re.sub(r"\{[^}]+\}", "{}", p)] = {m.lower() for m in ops}
    missing = []
    for method, path in CONTRACT_PATHS:
        full = "/api/v1" + path
        if method not in paths.get(full, set()):
            missing.append(f"{method.upper()} {full}")
    assert not missing, missing


# ---------------------------------------------------------------- CLI

def test_cli_users_create_and_token(runner, client):
    """API.md CLI: users create prints the id; users token prints the token alone on the
    last line."""
    email = "cli-bank@example.com"
    res = runner.invoke(args=["users", "create", email, "--password", "long-enough-pw-1",
                              "--role", "bank", "--org", "CLI 银行", "--org-kind", "bank"])
    assert res.exit_code == 0, (res.output, res.exception)
    last = res.output.strip().splitlines()[-1].strip()
    assert re.fullmatch(r"\d+", last), res.output
    res = runner.invoke(args=["users", "token", email])
    assert res.exit_code == 0, (res.output, res.exception)
    token = res.output.strip().splitlines()[-1]
    assert token == token.strip() and " " not in token and len(token) >= 16, res.output
    resp = client.get(f"{API}/orgs?name=CLI", headers={"Authorization": f"Bearer {token}"})
    orgs = expect(resp, 200)
    assert [(o["name"], o["kind"]) for o in orgs["items"]] == [("CLI 银行", "bank")]
    # Any role may belong to any kind of organisation; the org is reused if it exists.
    res = runner.invoke(args=["users", "create", "cli-inv@example.com", "--password",
                              "another-long-pw", "--role", "investor", "--org", "CLI 银行"])
    assert res.exit_code == 0, (res.output, res.exception)
    res = runner.invoke(args=["users", "create", "cli-fund@example.com", "--password",
                              "another-long-pw", "--role", "investor", "--org", "CLI 基金",
                              "--org-kind", "fund"])
    assert res.exit_code == 0, (res.output, res.exception)
    orgs = expect(client.get(f"{API}/orgs?name=CLI",
                             headers={"Authorization": f"Bearer {token}"}), 200)
    assert sorted((o["name"], o["kind"]) for o in orgs["items"]) == [
        ("CLI 基金", "fund"), ("CLI 银行", "bank")], orgs


def test_cli_short_password_refused(runner):
    """API.md CLI: passwords at least 12 characters."""
    res = runner.invoke(args=["users", "create", "short@example.com", "--password", "elevenchars",
                              "--role", "owner", "--org", "Short Co"])
    assert res.exit_code != 0, res.output
    res = runner.invoke(args=["users", "token", "short@example.com"])
    assert res.exit_code != 0, res.output  # no such user was created


def test_cli_scheduler_run_once_exits_zero(runner):
    """API.md CLI: flask scheduler run-once does all due work and exits 0."""
    res = runner.invoke(args=["scheduler", "run-once"])
    assert res.exit_code == 0, (res.output, res.exception)


def test_money_objects_carry_currency(world):
    """API.md Conventions: money is a two-decimal string plus `currency` (default CNY) —
    every object with amounts says its currency."""
    a = world.asset()
    objects = {"valuation": world.value(a["id"])}
    ln = world.loan([a["id"]])
    objects["loan"] = ln
    objects["claim"] = world.claim(ln["id"], "2025-03-01")
    b = world.asset(title="currency")
    lst = world.publish(world.owner, world.listing_body([b["id"]]))
    objects["listing"] = lst
    objects["auction"] = world.auction(lst["auction_id"])
    objects["deposit"] = expect(world.investor.post(
        f"{API}/auctions/{lst['auction_id']}/deposits", json={"method": "offline"}), 201)
    missing = {name: obj.get("currency") for name, obj in objects.items()
               if obj.get("currency") != "CNY"}
    assert not missing, f"objects with amounts but no currency CNY: {missing}"


def test_cli_demo_seed_fills_an_empty_database(runner, world):
    """API.md CLI: flask demo seed fills an empty database with a realistic demo."""
    res = runner.invoke(args=["demo", "seed"])
    assert res.exit_code == 0, (res.output, res.exception)
    listings = expect(world.anon.get(f"{API}/listings"), 200)
    assert listings["total"] > 0, listings
    assert expect(world.anon.get(f"{API}/registry/pledges"), 200)["total"] > 0
    for item in listings["items"]:
        expect(world.anon.get(f"{API}/listings/{item['id']}"), 200)
        if item.get("auction_id"):
            expect(world.anon.get(f"{API}/auctions/{item['auction_id']}"), 200)
            expect(world.anon.get(f"{API}/auctions/{item['auction_id']}/bids"), 200)


def test_cli_through_wsgi_entry_point(app_config, client, tmp_path):
    """API.md CLI: `flask --app wsgi ...` with settings from the environment (DATABASE_URL)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    flask = str(Path(sys.executable).with_name("flask"))
    env = {**os.environ, "DATABASE_URL": app_config["DATABASE_URL"],
           "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": "0"}

    def run(*args):
        return subprocess.run([flask, "--app", "wsgi", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)

    r = run("users", "create", "wsgi-op@example.com", "--password", "operator-password-1",
            "--role", "operator", "--org", "WSGI 交易所", "--org-kind", "exchange")
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.fullmatch(r"\d+", r.stdout.strip().splitlines()[-1].strip()), r.stdout
    r = run("users", "token", "wsgi-op@example.com")
    assert r.returncode == 0, r.stderr[-2000:]
    token = r.stdout.strip().splitlines()[-1]
    orgs = expect(client.get(f"{API}/orgs?name=WSGI",
                             headers={"Authorization": f"Bearer {token}"}), 200)
    assert [o["kind"] for o in orgs["items"]] == ["exchange"], orgs
    r = run("scheduler", "run-once")
    assert r.returncode == 0, r.stderr[-2000:]


def test_errors_keep_their_shape_outside_the_routes(world):
    """API.md Conventions: errors are {"error": {"code", "message"}}; a body that is not JSON
    is 422; an id in the path that cannot exist is 404."""
    b = world.bank
    expect(b.get(f"{API}/no-such-thing"), 404)
    expect(world.anon.get(f"{API}/no-such-thing"), 404)
    resp = b.client.delete(f"{API}/loans", headers=b.headers)
    assert resp.status_code == 405, resp.status_code
    assert_error_shape(body(resp))
    for ctype, data in (("text/plain", "principal=1"), ("application/json", ""),
                        ("application/json", "null"), ("application/json", "[]"),
                        ("application/x-www-form-urlencoded", "principal=1")):
        resp = b.client.post(f"{API}/loans", data=data,
                             headers={**b.headers, "Content-Type": ctype})
        expect(resp, 422)
    for n in ("0", "-1"):
        expect(b.get(f"{API}/loans/{n}"), 404)
        expect(world.anon.get(f"{API}/auctions/{n}"), 404)
