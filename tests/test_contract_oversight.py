"""Contract (API.md "Oversight and reports", the CLI's `regulator` role): each endpoint's
codes and roles, first_loan, and a regulator who reads oversight and writes nothing — proved
for every write endpoint of the API and the web, taken from the app's route map."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from market.audit import AuditRecord
from tests.conftest import PASSWORD
from tests.contract_helpers import (API, ResponseRecorder, World, check_cases, expect,
                                    market_today)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Not a user's call: Stripe signs it (no signature → refused, by 400).
SIGNED_BY_STRIPE = {"stripe_webhook.stripe_webhook"}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


@pytest.fixture
def regulator(actors):
    return actors.api("regulator", org="国家金融监督管理总局", org_kind="regulator")


def _loan(world, **kw):
    a = world.asset()
    return world.loan([a["id"]], **kw)


def test_first_loan_defaults_to_false_and_takes_only_a_boolean(world):
    assert _loan(world)["first_loan"] is False
    a = world.asset()
    body = {**world.loan_body([a["id"]]), "first_loan": True}
    ln = expect(world.bank.post(f"{API}/loans", json=body), 201)
    assert ln["first_loan"] is True
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["first_loan"] is True
    a = world.asset()
    for bad in ("yes", 1, None, "true"):
        body = {**world.loan_body([a["id"]]), "first_loan": bad}
        expect(world.bank.post(f"{API}/loans", json=body), 422)


def test_grades_codes_and_roles(world, regulator, app):
    ln = _loan(world, disbursed_on="2025-01-10", maturity_on="2027-01-10")
    lid = ln["id"]
    path = f"/loans/{lid}/grades"
    tomorrow = (market_today() + dt.timedelta(days=1)).isoformat()
    good = {"grade": "special_mention", "as_of": "2025-03-01"}
    world.operator, world.bank2  # noqa: B018 - made before counting what is written
    before = _audit_count(app)
    check_cases([
        (world.anon, "POST", path, good, 401),
        (world.owner, "POST", path, good, 403),
        (world.operator, "POST", path, good, 403),
        (regulator, "POST", path, good, 403),
        (world.bank, "POST", path, {"grade": "bad", "as_of": "2025-03-01"}, 422),
        (world.bank, "POST", path, {"grade": "loss"}, 422),
        (world.bank, "POST", path, {**good, "extra": 1}, 422),
        (world.bank2, "POST", path, good, 404),
        (world.bank, "POST", "/loans/999999/grades", good, 404),
        (world.bank, "POST", path, {**good, "as_of": "2025-01-09"}, 422, "as_of_out_of_range"),
        (world.bank, "POST", path, {**good, "as_of": tomorrow}, 422, "as_of_out_of_range"),
    ])
    assert _audit_count(app) == before  # refused calls write nothing
    got = expect(world.bank.post(f"{API}{path}", json=good), 201)
    assert got["grade"] == "special_mention" and got["as_of"] == "2025-03-01"
    expect(world.bank.post(f"{API}{path}", json={"grade": "doubtful",
                                                 "as_of": "2025-01-10"}), 201)
    # The grade on a date: the latest recorded on or before it.
    for who in (world.bank, world.owner, world.operator, regulator):
        g = expect(who.get(f"{API}/loans/{lid}/grade?as_of=2025-02-01"), 200)
        assert g["grade"] == "doubtful" and g["days_overdue"] == 0
        g = expect(who.get(f"{API}/loans/{lid}/grade?as_of=2025-03-01"), 200)
        assert g["grade"] == "special_mention"
    history = expect(regulator.get(f"{API}/loans/{lid}/grades"), 200)
    assert [h["grade"] for h in history["items"]] == ["doubtful", "special_mention"]  # by as_of
    check_cases([
        (world.anon, "GET", f"/loans/{lid}/grade", None, 401),
        (world.bank2, "GET", f"/loans/{lid}/grade", None, 404),
        (world.investor, "GET", f"/loans/{lid}/grades", None, 404),
        (world.bank, "GET", f"/loans/{lid}/grade?as_of=2024-12-31", None, 422,
         "as_of_out_of_range"),
        (world.bank, "GET", f"/loans/{lid}/grade?as_of={tomorrow}", None, 422,
         "as_of_out_of_range"),
    ])


def test_a_declared_default_grades_at_least_substandard(world):
    ln = _loan(world, disbursed_on="2025-01-10", maturity_on="2027-01-10")
    world.default(ln["id"], "2025-06-01")
    g = expect(world.bank.get(f"{API}/loans/{ln['id']}/grade?as_of=2025-05-31"), 200)
    assert g["grade"] == "normal"
    g = expect(world.bank.get(f"{API}/loans/{ln['id']}/grade?as_of=2025-06-01"), 200)
    assert g["grade"] == "substandard" and g["defaulted"] is True
    # Accelerated on 2025-06-01: 271 days later the arrears make it doubtful.
    g = expect(world.bank.get(f"{API}/loans/{ln['id']}/grade?as_of=2026-02-27"), 200)
    assert (g["grade"], g["days_overdue"]) == ("doubtful", 271)


def test_overall_npl_codes_and_roles(world, regulator, app):
    org = world.bank.user["org_id"]
    path = f"/banks/{org}/overall-npl"
    good = {"period": "2026-Q3", "ratio": "0.0135"}
    world.operator, world.owner, world.bank2  # noqa: B018 - made before counting writes
    before = _audit_count(app)
    bad_periods = ["2026-Q5", "2026Q3", "2026-q3", "26-Q1", "1989-Q4", "2200-Q1", ""]
    cases = [
        (world.anon, "PUT", path, good, 401),
        (world.operator, "PUT", path, good, 403),
        (regulator, "PUT", path, good, 403),
        (world.owner, "PUT", path, good, 403),
        (world.bank, "PUT", path, {"period": "2026-Q3", "ratio": "1.5"}, 422),
        (world.bank, "PUT", path, {"period": "2026-Q3", "ratio": "-0.1"}, 422),
        (world.bank, "PUT", path, {"period": "2026-Q3"}, 422),
        (world.bank2, "PUT", path, good, 404),
        (world.bank, "PUT", "/banks/999999/overall-npl", good, 404),
    ] + [(world.bank, "PUT", path, {**good, "period": p}, 422, "invalid_period")
         for p in bad_periods]
    bad = []
    for case in cases:
        resp = case[0].put(API + case[2], json=case[3])
        data = resp.get_json(silent=True) or {}
        if resp.status_code != case[4] or (len(case) > 5 and data["error"]["code"] != case[5]):
            bad.append(f"{case[3]}: {resp.status_code} {data}")
    assert not bad, bad
    assert _audit_count(app) == before
    assert expect(world.bank.put(f"{API}{path}", json=good), 200) == {
        "org_id": org, "period": "2026-Q3", "ratio": "0.0135"}
    # Saving again replaces it.
    assert expect(world.bank.put(f"{API}{path}", json={**good, "ratio": "0.02"}),
                  200)["ratio"] == "0.02"


def test_npl_and_report_reads_codes_and_roles(world, regulator):
    world.bank, world.bank2  # noqa: B018 - both banks exist
    future = f"{market_today().year + 1}-Q1"
    for path in ("/oversight/npl", "/reports/ip-pledge"):
        check_cases([
            (world.anon, "GET", path, None, 401),
            (world.owner, "GET", path, None, 403),
            (world.investor, "GET", path, None, 403),
            (regulator, "GET", f"{path}?period=2026-Q9", None, 422, "invalid_period"),
            (regulator, "GET", f"{path}?period={future}", None, 422, "invalid_period"),
        ])
        mine = expect(world.bank.get(API + path), 200)
        assert [i["org_id"] for i in mine["items"]] == [world.bank.user["org_id"]]
        for who in (world.operator, regulator):
            every = expect(who.get(API + path), 200)
            ids = {i["org_id"] for i in every["items"]}
            assert {world.bank.user["org_id"], world.bank2.user["org_id"]} <= ids
            assert every["total"] == len(every["items"]) and every["per_page"] == 20
    check_cases([(regulator, "GET", "/reports/ip-pledge?format=pdf", None, 422)])
    for fmt in ("csv", "xlsx"):
        assert regulator.get(f"{API}/reports/ip-pledge?format={fmt}").status_code == 200


def test_cli_creates_regulators_only_in_regulator_organisations(runner, app):
    out = runner.invoke(args=["users", "create", "reg@example.com", "--password", PASSWORD,
                              "--role", "regulator", "--org", "金融监管总局",
                              "--org-kind", "regulator"])
    assert out.exit_code == 0, out.output
    assert re.fullmatch(r"\d+\n", out.output)
    for kind in ("bank", None):
        args = ["users", "create", f"reg-{kind}@example.com", "--password", PASSWORD,
                "--role", "regulator", "--org", f"某银行 {kind}"]
        out = runner.invoke(args=args + (["--org-kind", kind] if kind else []))
        assert out.exit_code != 0
        assert "regulator" in out.output and "kind" in out.output, out.output
    # Any other role may belong to a regulator organisation.
    out = runner.invoke(args=["users", "create", "op@example.com", "--password", PASSWORD,
                              "--role", "operator", "--org", "金融监管总局"])
    assert out.exit_code == 0, out.output


def _audit_count(app) -> int:
    from market.db import database

    with app.app_context(), database(app).transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord))


def _url(rule, ids: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule.rule)


def _objects(world) -> dict:
    """Real objects for the ids in the routes, so a refusal is not merely a missing row."""
    asset = world.asset()
    world.value(asset["id"], "1000000.00")
    loan = world.loan([asset["id"]])
    world.default(loan["id"])
    lst = world.publish(world.bank, world.listing_body([asset["id"]], loan["id"]))
    return {"asset_id": asset["id"], "loan_id": loan["id"], "listing_id": lst["id"],
            "auction_id": lst["auction_id"], "org_id": world.bank.user["org_id"],
            "user_id": world.bank.user["id"]}


def test_a_regulator_writes_nothing_anywhere(world, regulator, app, actors):
    """Every write endpoint of the API (bearer token) and of the web (signed in) refuses a
    regulator with 403 or 404, never 2xx, and nothing is written; the regulator's own
    account (sign-in, password, tokens, notifications) stays theirs."""
    ids = _objects(world)
    web = actors.login(app.test_client(), regulator.user)
    rules = [r for r in app.url_map.iter_rules() if r.methods & WRITE_METHODS]
    assert len(rules) > 40
    before = _audit_count(app)
    bad, checked = [], 0
    for rule in rules:
        if rule.endpoint in SIGNED_BY_STRIPE:
            continue
        url = _url(rule, ids)
        for method in sorted(rule.methods & WRITE_METHODS):
            if rule.rule.startswith(API):
                resp = regulator.client.open(url, method=method, json={},
                                             headers=regulator.headers)
            elif rule.endpoint in {"web.login", "web.logout", "web.set_preferred_language",
                                   "web.change_password", "web.create_token",
                                   "web.revoke_token", "web.read_notification",
                                   "web.read_all_notifications"}:
                continue  # the regulator's own account
            else:
                resp = web.open(url, method=method, data={})
            checked += 1
            if resp.status_code not in (403, 404):
                bad.append(f"{method} {url} ({rule.endpoint}) → {resp.status_code}")
    assert not bad, "\n".join(bad)
    assert checked == len([r for r in rules if r.endpoint not in SIGNED_BY_STRIPE]) - 8
    assert _audit_count(app) == before
    # Still signed in (the refusals did not end the session), and the reads work.
    assert web.get("/oversight/npl").status_code == 200
    assert web.get("/dashboard").status_code == 200
    for path in ("/oversight/npl", "/reports/ip-pledge", f"/loans/{ids['loan_id']}/grade",
                 f"/loans/{ids['loan_id']}/grades"):
        expect(regulator.get(API + path), 200)


def test_oversight_responses_match_the_openapi_document(app, actors):
    """API.md: every response matches its documented schema (successes and errors)."""
    recorder = ResponseRecorder(app)
    world = World(app, actors)
    regulator = actors.api("regulator", org_kind="regulator")
    ln = _loan(world, disbursed_on="2025-01-10", maturity_on="2025-06-10")
    lid, org = ln["id"], world.bank.user["org_id"]
    expect(world.bank.post(f"{API}/loans/{lid}/grades",
                           json={"grade": "doubtful", "as_of": "2025-03-01"}), 201)
    expect(world.bank.post(f"{API}/loans/{lid}/grades", json={"grade": "x"}), 422)
    expect(world.bank.post(f"{API}/loans/{lid}/grades",
                           json={"grade": "loss", "as_of": "2020-01-01"}), 422)
    expect(world.bank.get(f"{API}/loans/{lid}/grade?as_of=2025-12-01"), 200)
    expect(world.bank.get(f"{API}/loans/{lid}/grades"), 200)
    expect(world.bank.put(f"{API}/banks/{org}/overall-npl",
                          json={"period": "2025-Q4", "ratio": "0.0135"}), 200)
    expect(world.bank.put(f"{API}/banks/{org}/overall-npl",
                          json={"period": "2025-Q5", "ratio": "0.0135"}), 422)
    expect(regulator.put(f"{API}/banks/{org}/overall-npl", json={}), 403)
    expect(world.bank2.put(f"{API}/banks/{org}/overall-npl",
                           json={"period": "2025-Q4", "ratio": "0.0135"}), 404)
    for period in ("2025-Q4", "2025-Q3"):
        expect(regulator.get(f"{API}/oversight/npl?period={period}"), 200)
        expect(regulator.get(f"{API}/reports/ip-pledge?period={period}"), 200)
    expect(world.owner.get(f"{API}/oversight/npl"), 403)
    expect(world.anon.get(f"{API}/reports/ip-pledge"), 401)
    expect(regulator.get(f"{API}/reports/ip-pledge?period=x"), 422)
    problems = recorder.problems(expect(world.anon.get("/api/openapi.json"), 200))
    assert problems == [], "\n".join(problems)
    seen = {(m, p) for m, p, _s, _d in recorder.seen}
    assert {("get", "/api/v1/oversight/npl"), ("put", "/api/v1/banks/{org_id}/overall-npl"),
            ("post", "/api/v1/loans/{loan_id}/grades")} <= seen
