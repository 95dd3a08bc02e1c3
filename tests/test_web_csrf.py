"""CSRF guards cookie sessions (the web forms), never bearer-token API calls.

The other tests run with CSRF off for brevity; this one turns it on as production does.
"""
from __future__ import annotations

import re

import pytest

from market.app import create_app


@pytest.fixture
def csrf_app(app, app_config):
    return create_app({**app_config, "WTF_CSRF_ENABLED": True})


def _api_writes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "webhook" in rule.rule:
            continue
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            yield method, re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)


def test_api_writes_do_not_need_a_csrf_token(csrf_app):
    """API.md: a missing or bad token is 401 — not a CSRF 400 — on every write endpoint."""
    client = csrf_app.test_client()
    wrong = {}
    for method, url in _api_writes(csrf_app):
        resp = client.open(url, method=method, json={}, headers={"Authorization": "Bearer nope"})
        if resp.status_code != 401:
            wrong[f"{method} {url}"] = resp.status_code
    assert not wrong, ("API blueprints must be csrf.exempt (bearer tokens, no cookies): "
                       f"{wrong}")


def test_web_forms_still_need_the_token(csrf_app, actors):
    user = actors.user("bank")
    client = csrf_app.test_client()
    assert client.post("/login", data={"email": user["email"],
                                       "password": user["password"]}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"email": user["email"], "password": user["password"],
                                       "csrf_token": token})
    assert resp.status_code == 302
    resp = client.post("/account/tokens", data={"name": "x"})  # no token: refused, localized
    assert resp.status_code == 400 and "请重试" in resp.get_data(as_text=True)
