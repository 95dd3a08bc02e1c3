"""Contract (API.md Conventions): rate limits apply to logins; API calls allow at least
100 requests a second per token. Rate limiting is on in this module (off elsewhere)."""
from __future__ import annotations

import time

import pytest

from tests.contract_helpers import API, expect


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True}


def test_api_allows_100_requests_a_second_per_token(actors):
    """API.md Conventions: API calls allow at least 100 requests a second per token."""
    api = actors.api("investor")
    statuses = []
    t0 = time.monotonic()
    for _ in range(150):
        statuses.append(api.get(f"{API}/orgs?per_page=1").status_code)
    elapsed = time.monotonic() - t0
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    print(f"150 token-authenticated GETs in {elapsed:.2f}s")
    assert elapsed < 60


def test_logins_are_rate_limited(app, actors):
    """API.md Conventions: rate limits apply to logins (the web login answers 429)."""
    user = actors.user("investor")
    client = app.test_client()
    codes = [client.post("/login", data={"email": user["email"], "password": "wrong-password"})
             .status_code for _ in range(15)]
    assert 429 in codes, codes
    # An API token still works (the limit is on logins, not on API calls).
    expect(app.test_client().get(f"{API}/orgs", headers={
        "Authorization": f"Bearer {actors.token(user)}"}), 200)
