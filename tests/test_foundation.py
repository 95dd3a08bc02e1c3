"""Foundation: login, token auth, CSRF, rate limit, audit, error bodies, OpenAPI."""
from __future__ import annotations

from openapi_spec_validator import validate
from sqlalchemy import select

from market.accounts.models import ApiToken
from market.audit import AuditRecord
from market.db import database


def test_openapi_document_is_valid_openapi3(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    validate(doc)
    assert "/api/v1/orgs" in doc["paths"]


def test_api_without_token_is_401_with_error_body(client):
    resp = client.get("/api/v1/orgs")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
    resp = client.get("/api/v1/orgs", headers={"Authorization": "Bearer ipx_nope"})
    assert resp.status_code == 401


def test_orgs_lists_with_paging_and_name_filter(actors):
    api = actors.api("investor", org="深圳前海投资")
    actors.user("bank", org="华夏科创银行")
    body = api.get("/api/v1/orgs?name=华夏").get_json()
    assert body["total"] == 1 and body["items"][0]["name"] == "华夏科创银行"
    assert body["items"][0]["kind"] == "bank"
    body = api.get("/api/v1/orgs?per_page=1000").get_json()
    assert body["per_page"] == 100 and body["total"] == 2


def test_revoked_token_is_refused(app, actors):
    api = actors.api("bank")
    assert api.get("/api/v1/orgs").status_code == 200
    with app.app_context(), database(app).transaction() as s:
        tok = s.scalar(select(ApiToken))
        assert tok.digest != api.token and len(tok.digest) == 64  # only the digest is stored
        from market.timeutil import utcnow
        tok.revoked_at = utcnow()
    assert api.get("/api/v1/orgs").status_code == 401


def test_login_logout_and_next_redirect_is_validated(client, actors):
    user = actors.user("bank")
    resp = client.post("/login?next=//evil.example/x",
                       data={"email": user["email"], "password": user["password"]})
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    client.post("/logout")
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_does_not_log_in(client, actors):
    user = actors.user("bank")
    resp = client.post("/login", data={"email": user["email"], "password": "wrong-password-xx"})
    assert resp.status_code == 200
    assert client.get("/dashboard").status_code == 302


def test_csrf_is_required_on_forms(app_config, actors):
    from market.app import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    user = actors.user("bank")
    client = app.test_client()
    resp = client.post("/login", data={"email": user["email"], "password": user["password"]})
    assert resp.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_login_is_rate_limited(app_config, actors):
    from market.app import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    codes = [client.post("/login", data={"email": "x@example.com", "password": "nope-nope-nope"})
             .status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_password_change_invalidates_other_sessions(app, actors):
    user = actors.user("owner")
    a, b = app.test_client(), app.test_client()
    actors.login(a, user)
    actors.login(b, user)
    resp = a.post("/account/password", data={"old": user["password"], "new": "a-brand-new-password"})
    assert resp.status_code == 302
    assert a.get("/dashboard").status_code == 200
    assert b.get("/dashboard").status_code == 302


def test_token_issued_on_account_page_works_and_is_audited(app, client, actors, db):
    user = actors.user("bank")
    actors.login(client, user)
    html = client.post("/account/tokens", data={"name": "core banking"}).get_data(as_text=True)
    token = html.split('data-test="new-token">')[1].split("<")[0]
    assert client.get("/api/v1/orgs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    actions = db.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == user["id"])).all()
    assert "token.create" in actions and "user.login" in actions


def test_malformed_json_is_422(actors):
    api = actors.api("bank")
    resp = api.client.get("/api/v1/orgs?page=abc", headers=api.headers)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_error"


def test_cli_users_create_and_token(runner, client):
    res = runner.invoke(args=["users", "create", "ops@example.com", "--password", "long-enough-pass",
                              "--role", "operator", "--org", "交易中心", "--org-kind", "exchange"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().isdigit()
    res = runner.invoke(args=["users", "token", "ops@example.com"])
    token = res.output.strip().splitlines()[-1]
    assert client.get("/api/v1/orgs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    res = runner.invoke(args=["users", "create", "short@example.com", "--password", "short",
                              "--role", "bank", "--org", "X"])
    assert res.exit_code != 0 and "12" in res.output


def test_api_posts_need_no_csrf_token_but_web_forms_do(app_config, actors):
    """Bearer-token API calls are not cookie-authenticated, so CSRF does not apply to them;
    with CSRF on (as in production) an API POST still reaches its validation (422 here)."""
    from market.app import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    user = actors.user("bank")
    token = actors.token(user)
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and "POST" in rule.methods and "<" not in rule.rule \
                and "webhook" not in rule.rule:
            resp = client.post(rule.rule, json={"unknown_field": 1},
                               headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code != 400, (rule.rule, resp.get_data(as_text=True)[:200])


def test_two_clients_in_one_app_context_do_not_share_a_login(app, actors, db):
    """The `db` fixture keeps an app context open; requests must still each see their own user."""
    bank, investor = actors.user("bank"), actors.user("investor")
    a, b = app.test_client(), app.test_client()
    actors.login(a, bank)
    actors.login(b, investor)
    assert bank["email"] in a.get("/account").get_data(as_text=True)
    assert investor["email"] in b.get("/account").get_data(as_text=True)
    assert bank["email"] not in b.get("/account").get_data(as_text=True)


def test_web_error_redirect_ignores_a_foreign_referrer(app, client, actors):
    from market.http import _web_domain_error
    from market.errors import Conflict

    with app.test_request_context("/x", headers={"Referer": "https://evil.example/phish"}):
        assert _web_domain_error(Conflict("c", "m")).headers["Location"] == "/"
    with app.test_request_context("/x", headers={"Referer": "http://localhost/listings?q=1"}):
        assert _web_domain_error(Conflict("c", "m")).headers["Location"] == "/listings?q=1"
