"""Issue 14 item 5: logins are limited per address and per account, counted in the
limiter's store (RATELIMIT_STORAGE_URI), and the login page says when one may try again."""
from __future__ import annotations

import pytest


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "6 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "3 per 15 minutes"}


@pytest.fixture(autouse=True)
def _fresh_counts(app):
    from market.extensions import limiter

    limiter.reset()  # the store outlives one test's app (memory:// in tests)


def _try(app, email, password, ip):
    client = app.test_client()
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_failed_logins_on_one_account_from_many_addresses_lock_it(app, actors):
    user, other = actors.user("investor"), actors.user("investor")
    codes = [_try(app, user["email"], "wrong-password!", f"10.0.0.{i}").status_code
             for i in range(1, 5)]
    assert codes == [200, 200, 200, 429], codes
    # Even the right password, from a new address, waits: with a notice on the page.
    resp = _try(app, user["email"], user["password"], "10.0.1.1")
    assert resp.status_code == 429
    html = resp.get_data(as_text=True)
    assert 'data-test="login-locked"' in html and "15" in html
    # Another account is not affected.
    assert _try(app, other["email"], other["password"], "10.0.1.2").status_code == 302


def test_a_successful_login_clears_the_account_count(app, actors):
    user = actors.user("investor")
    for i in range(2):
        assert _try(app, user["email"], "wrong-password!", f"10.1.0.{i}").status_code == 200
    assert _try(app, user["email"], user["password"], "10.1.0.9").status_code == 302
    for i in range(3):
        assert _try(app, user["email"], "wrong-password!", f"10.1.1.{i}").status_code == 200


def test_one_address_is_limited_across_accounts(app, actors):
    users = [actors.user("investor") for _ in range(4)]
    codes = [_try(app, users[i % 4]["email"], "wrong-password!", "10.2.0.1").status_code
             for i in range(7)]
    assert codes[:6] == [200] * 6 and codes[6] == 429, codes
    assert _try(app, users[0]["email"], users[0]["password"], "10.2.0.2").status_code == 302
