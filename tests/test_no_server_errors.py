"""Issue 14 item 3: the inputs a security probe found to cause a 500, each refused as bad
input (or read as no filter) instead — API.md Conventions: dates outside 1990–2199 are
422, an id of any size that does not exist is 404, never a 500."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from listings.models import Listing
from market.db import database
from tests.contract_helpers import API, World, expect
from tests.stripe_fixtures import sign_webhook

BEYOND = 2**31  # the first id a PostgreSQL INTEGER key cannot hold


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def web(world, who):
    """A browser signed in as one of the world's API users."""
    return world.actors.login(world.app.test_client(), getattr(world, who).user)


def _status(client, method, url, **kw):
    try:
        return getattr(client, method)(url, **kw).status_code
    except Exception as exc:  # noqa: BLE001 - TESTING propagates the 500's exception
        return f"500 {type(exc).__name__}: {str(exc)[:120]}"


def _all(cases):
    bad = [f"{method.upper()} {url}: got {got}, expected {sorted(allowed)}"
           for method, url, allowed, got in cases if got not in allowed]
    assert not bad, "\n".join(bad)


def _cases(client, rows):
    return [(m, u, allowed, _status(client, m, u, **kw)) for m, u, kw, allowed in rows]


def test_query_strings_that_used_to_500(world):
    anon = world.app.test_client()
    _all(_cases(anon, [
        ("get", "/listings?page=²", {}, {200}),
        ("get", "/register?page=²", {}, {200}),
        ("get", "/listings?min_price=1e999", {}, {200}),
        ("get", "/listings?max_price=99999999999999999999999", {}, {200}),
        ("get", "/listings?closing=²", {}, {200}),
        ("get", "/register?pledgor=%00", {}, {400}),
        ("get", "/listings?q=a%00b", {}, {400}),
        ("get", f"{API}/listings?q=a%00b", {}, {422}),
        ("get", f"/listings/{BEYOND}", {}, {404}),
        ("get", f"/auctions/{BEYOND}", {}, {404}),
        ("get", f"{API}/listings/{BEYOND}", {}, {404}),
        ("get", f"{API}/auctions/{BEYOND}", {}, {404}),
    ]))
    # CR/LF in `next` must not reach the Location header (nor 500 splitting it).
    for client in (anon, web(world, "investor")):
        resp = client.get("/lang/en?next=/%0d%0aX")
        assert resp.status_code == 302 and "\n" not in resp.headers["Location"]
        assert resp.headers["Location"] == "/"


def test_ids_beyond_the_key_columns_are_404(world):
    operator, bank = web(world, "operator"), web(world, "bank")
    _all(_cases(operator, [
        ("get", f"/settlements/listing/{BEYOND}", {}, {404}),
        ("get", f"/settlements/listing/{BEYOND}.csv", {}, {404}),
        ("get", f"/operator/listings/{BEYOND}", {}, {404}),
        ("post", f"/admin/payments/{BEYOND}/confirm", {}, {302, 404}),
        ("post", f"/desk/deposits/{BEYOND}/confirm", {}, {302, 404}),
    ]) + _cases(bank, [
        ("get", f"/loans/{BEYOND}", {}, {404}),
        ("get", f"/assets/{BEYOND}", {}, {404}),
    ]))
    checks = [
        (world.operator, "get", f"{API}/payments/{BEYOND}"),
        (world.operator, "post", f"{API}/payments/{BEYOND}/confirm"),
        (world.bank, "get", f"{API}/listings/{BEYOND}/settlement"),
        (world.bank, "get", f"{API}/loans/{BEYOND}"),
        (world.owner, "get", f"{API}/assets/{BEYOND}"),
    ]
    _all([(m, u, {404}, _status(who, m, u)) for who, m, u in checks])
    url = f"{API}/listings/{BEYOND}/payments"
    _all([("post", url, {404}, _status(world.investor, "post", url, json={"method": "offline"}))])


def test_audit_log_filters(world):
    operator = web(world, "operator")
    queries = ["object_id=²", "actor=²", "before=²", "object_id=99999999999999999999",
               f"before={BEYOND}", f"actor={BEYOND}", "since=9999-12-31", "until=9999-12-31",
               "since=0001-01-01", "action=%ED%A0%80", "object_type=x%00"]
    got = {q: _status(operator, "get", f"/admin/audit?{q}") for q in queries}
    assert all(v in (200, 400) for v in got.values()), got
    assert got["object_type=x%00"] == 400 and got["until=9999-12-31"] == 200


def test_json_bodies_too_deep_too_long_or_unstorable(world):
    a = world.asset()
    body = world.listing_body([a["id"]])
    deep = "[" * 2000 + "]" * 2000
    payloads = {
        "deep": deep,
        "deep in a field": json.dumps({**body, "title": "x"})[:-1] + ', "x": ' + deep + "}",
        "5000 digits": json.dumps({**body, "loan_id": 0})
        .replace('"loan_id": 0', '"loan_id": ' + "9" * 5000),
        "5000-digit decimal": json.dumps({**body, "loan_id": 0})
        .replace('"loan_id": 0', '"loan_id": 1.' + "9" * 5000),
        "lone surrogate": json.dumps({**body, "title": "\ud800"}),
        "NUL": json.dumps({**body, "title": "a\x00b"}),
        "NUL in a key": json.dumps({**body, "a\x00": 1}),
        "id beyond": json.dumps({**body, "asset_ids": [BEYOND]}),
    }
    got = {}
    for name, text in payloads.items():
        resp = _status(world.owner.client, "post", f"{API}/listings", data=text,
                       headers={**world.owner.headers, "Content-Type": "application/json"})
        got[name] = resp
    assert got == {name: 422 for name in payloads} | {"id beyond": got["id beyond"]}, got
    assert got["id beyond"] in (404, 422)
    # nothing was written
    assert expect(world.owner.get(f"{API}/listings?mine=true"), 200)["total"] == 0


def test_deep_json_on_the_bid_path(world):
    """A bid body nested 2,000 deep fits the shortcut's 4 KB and used to reach
    json.loads (RecursionError: gunicorn's HTML 500, no headers)."""
    deep = "[" * 2000 + "]" * 2000
    got = _status(world.investor.client, "post", f"{API}/auctions/1/bids", data=deep,
                  headers={**world.investor.headers, "Content-Type": "application/json"})
    assert got == 422, got


def test_dates_outside_the_window_are_422(world):
    a = world.asset()
    for starts, ends in (("9999-12-31T00:00:00Z", "9999-12-31T12:00:00Z"),
                         ("1900-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
                         ("2030-01-01T00:00:00Z", "2200-01-01T00:00:00Z")):
        data = world.listing_body([a["id"]], starts_in=86400 * 40)
        data["auction"].update(starts_at=starts, ends_at=ends)
        expect(world.owner.post(f"{API}/listings", json=data), 422)
    asset = {"kind": "invention_patent", "registry_no": "ZL-WINDOW-1", "title": "t",
             "owner_org_id": world.borrower_id}
    expect(world.owner.post(f"{API}/assets", json={**asset, "expires_on": "9999-12-31"}), 422)
    expect(world.owner.post(f"{API}/assets/{a['id']}/valuations", json={
        "amount": "100.00", "valued_on": "1989-12-31", "method": "income", "agency": "x"}), 422)
    expect(world.owner.post(f"{API}/assets", json={**asset, "expires_on": "2199-12-31"}), 201)
    # The web form says so instead of saving.
    owner = web(world, "owner")
    resp = owner.post("/listings/new", data={
        "title": "year 9999", "mode": "auction", "asset_ids": [str(a["id"])],
        "start_price": "700000", "increment": "10000", "deposit": "70000",
        "starts_at": "9999-12-31T10:00", "ends_at": "9999-12-31T12:00"})
    assert resp.status_code == 200 and "9999" in resp.get_data(as_text=True)
    bank = web(world, "bank")
    assert bank.get(f"/loans/0?as_of=9999-12-31").status_code == 404


def test_a_listing_starting_in_year_9999_never_breaks_its_pages(world, app):
    """Such a row (stored before the window was enforced) still renders."""
    a = world.asset()
    world.value(a["id"])
    lst = world.listing(world.owner, world.listing_body([a["id"]], starts_in=86400 * 40))
    import datetime as dt
    far = dt.datetime(9999, 12, 31, 12, tzinfo=dt.timezone.utc)
    with app.app_context(), database(app).transaction() as s:
        s.execute(update(Listing).where(Listing.id == lst["id"]).values(
            starts_at=far - dt.timedelta(days=2), ends_at=far))
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 200)
    operator = web(world, "operator")
    assert _status(operator, "get", f"/operator/listings/{lst['id']}") == 200
    _status(world.operator, "post", f"{API}/listings/{lst['id']}/approve")
    for client in (operator, world.app.test_client(), web(world, "owner")):
        assert _status(client, "get", f"/listings/{lst['id']}") in (200, 404)
        assert _status(client, "get", "/listings") == 200


def test_web_bid_and_deposit_forms_posted_a_json_array(world):
    investor = web(world, "investor")
    for path in ("/auctions/1/web-bid", "/auctions/1/web-deposit"):
        for body in ("[1, 2]", '"x"', "[" * 2000 + "]" * 2000):
            got = _status(investor, "post", path, data=body,
                          headers={"Content-Type": "application/json"})
            assert isinstance(got, int) and 400 <= got < 500, (path, body[:10], got)


def test_signed_but_malformed_webhooks(app_config, stripe_config):
    from market.app import create_app

    app = create_app({**app_config, **stripe_config})
    client = app.test_client()
    bodies = ["[]", '"x"', "{}", '{"id": 1, "type": "x"}',
              '{"id": "evt_1", "type": "x", "data": []}',
              '{"id": "evt_2", "type": "x", "data": {"object": []}}',
              '{"id": "evt_3", "type": "x", "created": "soon", "data": {"object": {}}}',
              '{"id": "evt_4", "type": "x", "data": {"object": {"metadata": [1]}}}',
              '{"id": "evt_5", "type": "x", "data": {"object": {"metadata": {"kind": 7}}}}',
              '{"id": "evt_6\\u0000", "type": "x", "data": {"object": {}}}',
              '{"id": "evt_7", "type": "x", "data": {"object": {"id": "pi_none", '
              '"object": "payment_intent", "metadata": {"kind": "balance"}}}}',
              "[" * 2000 + "]" * 2000]
    got = {}
    for text in bodies:
        data, headers = sign_webhook(text)
        got[text[:60]] = _status(client, "post", f"{API}/stripe/webhook", data=data,
                                 headers=headers)
    bad = {k: v for k, v in got.items() if not (isinstance(v, int) and 400 <= v < 500)}
    assert not bad, bad
    database(app).engine.dispose()

