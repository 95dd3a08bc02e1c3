"""Fuzz the web routes (issue 14): every rule in app.url_map outside the API, with odd
query strings and form bodies, anonymous and signed in as each role — never a 5xx.

Bounded: a few hundred examples, no deadline (a request's time varies with the machine).
The API has its own fuzzing through its schemas; this covers the pages and forms.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.accounts.models import ROLES
from tests.contract_helpers import World

# Values that once broke a page, and their neighbours.
NASTY = ["", "²", "٣", "１２３", "1e999", "-1", "0", "1_000", "99999999999999999999999",
         str(2**31), str(2**63), "9999-12-31", "0001-01-01", "2024-02-30",
         "9999-12-31T23:59", "/%0d%0aX", "/\r\nX", "//evil.example", "\x00", "a\x00b",
         '"\\ud800"', '["\\u0000"]', "<script>", "'; --", "[]", "{}", "1," * 50, "x" * 5000,
         "NaN", "Infinity", "1.005", "1,234.50"]
# Parameter and field names the pages read (a wrong name is just ignored).
NAMES = ["page", "q", "next", "min_price", "max_price", "closing", "sort", "mode", "kind",
         "status", "flagged", "as_of", "registry_no", "pledgor", "pledgee", "role",
         "action", "object_type", "object_id", "actor", "since", "until", "before",
         "classification", "loan_id", "amount", "title", "description", "starts_at",
         "ends_at", "start_price", "increment", "deposit", "reserve_price", "ask_price",
         "asset_ids", "reason", "comment", "email", "password", "new_password", "name",
         "language", "method", "declared_on", "on_date", "valued_on", "agency", "legal_status",
         "expires_on", "registered_on", "principal", "annual_rate", "open", "public", "value"]
SKIP = re.compile(r"^/(api/|static/|logout$)")

# No lone surrogates in URLs and forms: a client cannot encode them (JSON escapes them).
text = st.one_of(st.sampled_from(NASTY),
                 st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
fields = st.dictionaries(st.sampled_from(NAMES), text, max_size=6)


@pytest.fixture
def browsers(app, actors):
    """An anonymous browser and one signed in per role, over a small world with real ids."""
    world = World(app, actors)
    a, ln = world.collateral()
    world.publish(world.bank, world.listing_body([a["id"]], ln["id"], starts_in=86400 * 40))
    out = {"anonymous": app.test_client()}
    for role in ROLES:
        out[role] = actors.login(app.test_client(), actors.user(role))
    return out


def _rules(app):
    return sorted((r for r in app.url_map.iter_rules() if not SKIP.match(r.rule)),
                  key=lambda r: r.rule)


def _url(rule, ids: dict) -> str:
    path = rule.rule
    for name, conv in rule._converters.items():
        path = re.sub(r"<[^>]*\b%s>" % name, str(ids.get(name, "x")), path)
    return path


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_web_route_answers_5xx(app, browsers, data):
    rule = data.draw(st.sampled_from(_rules(app)), label="rule")
    who = data.draw(st.sampled_from(sorted(browsers)), label="who")
    ids = {name: data.draw(st.one_of(st.sampled_from([1, 2, 3, 0, 2**31, 2**63]),
                                     st.integers(min_value=0)), label=name)
           for name, conv in rule._converters.items() if "Integer" in type(conv).__name__
           or "Id" in type(conv).__name__}
    if "code" in rule.arguments:
        ids["code"] = data.draw(st.sampled_from(["en", "zh", "xx"]), label="code")
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    method = data.draw(st.sampled_from(methods), label="method")
    query = data.draw(fields, label="query")
    url = _url(rule, ids)
    client = browsers[who]
    try:
        if method == "GET":
            resp = client.get(url, query_string=query)
        else:
            body = data.draw(st.one_of(fields.map(lambda f: {"data": f}),
                                       st.sampled_from(NASTY).map(
                                           lambda t: {"data": t,
                                                      "content_type": "application/json"})),
                             label="body")
            resp = client.open(url, method=method, query_string=query, **body)
    except Exception as exc:  # TESTING propagates a view's exception: that is the 500
        raise AssertionError(f"{who} {method} {url} {query!r}: {type(exc).__name__}: {exc}")
    assert resp.status_code < 500, (who, method, url, query, resp.status_code)
