"""Pages everyone signed in uses: dashboard, account, notifications, error pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from market.db import database
from market.notifications import Notification, notify


@pytest.fixture
def db(app):
    """Like conftest's `db`, but without pushing an app context: the test client's requests
    would share that context's `g` (and with it the logged-in user) between two clients."""
    engine = database(app).engine.execution_options(sqlite_deferred=True)
    s = database(app).sessions(bind=engine)
    yield s
    s.close()


def _notify(app, user_id, subject, link=None):
    with app.app_context(), database(app).transaction() as s:
        return notify(s, user_id, "test", subject, "body text", link=link).subject


def test_dashboard_shows_role_actions_and_unread_notifications(app, client, actors):
    user = actors.user("bank", org="华夏科创银行")
    _notify(app, user["id"], "贷款 L-7 已逾期")
    actors.login(client, user)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "华夏科创银行" in html and "银行" in html and "营业日" in html
    assert 'data-test="inbox"' in html and "贷款 L-7 已逾期" in html
    assert "/admin/" not in html  # no operator pages offered to a bank


def test_operator_sees_admin_navigation(client, actors):
    actors.login(client, actors.user("operator"))
    html = client.get("/dashboard").get_data(as_text=True)
    for path in ("/admin/users", "/admin/settings", "/admin/audit"):
        assert f'href="{path}"' in html


def test_notifications_mark_read_one_and_all(app, client, actors, db):
    user = actors.user("investor")
    other = actors.user("investor")
    _notify(app, user["id"], "first")
    _notify(app, user["id"], "second", link="/dashboard")
    _notify(app, user["id"], "third", link="https://evil.example/")
    _notify(app, other["id"], "not yours")
    actors.login(client, user)
    ids = {n.subject: n.id for n in db.scalars(select(Notification))}

    html = client.get("/notifications").get_data(as_text=True)
    assert html.count('data-test="mark-read"') == 3 and "not yours" not in html

    assert client.post(f"/notifications/{ids['first']}/read").status_code == 302
    resp = client.post(f"/notifications/{ids['second']}/read", data={"open": "1"})
    assert resp.headers["Location"] == "/dashboard"
    resp = client.post(f"/notifications/{ids['third']}/read", data={"open": "1"})
    assert resp.headers["Location"] == "/notifications"  # off-site links are not followed
    assert client.post(f"/notifications/{ids['not yours']}/read").status_code == 404
    db.rollback()  # a fresh snapshot (SQLite WAL keeps the old one open)
    read = {n.subject: n.read_at is not None for n in db.scalars(select(Notification))}
    assert read == {"first": True, "second": True, "third": True, "not yours": False}

    _notify(app, user["id"], "fourth")
    _notify(app, user["id"], "fifth")
    client.post("/notifications/read-all")
    db.rollback()  # a fresh snapshot (SQLite WAL keeps the old one open)
    assert all(n.read_at for n in db.scalars(select(Notification)
                                               .where(Notification.user_id == user["id"])))


def test_account_page_shows_who_i_am_and_my_tokens(client, actors):
    user = actors.user("owner", org="苏州精密传动科技有限公司")
    actors.login(client, user)
    client.post("/account/tokens", data={"name": "ERP"})
    html = client.get("/account").get_data(as_text=True)
    assert user["email"] in html and "苏州精密传动科技有限公司" in html
    assert "知识产权权利人" in html and "ERP" in html and "有效" in html
    assert "Authorization: Bearer &lt;token&gt;" in html  # shown, not swallowed as a tag


def test_revoking_someone_elses_token_is_not_found(client, actors, app):
    a, b = actors.user("bank"), actors.user("bank")
    actors.token(b)
    actors.login(client, a)
    from market.accounts.models import ApiToken
    with app.app_context(), database(app).transaction() as s:
        tok_id = s.scalar(select(ApiToken.id))
    resp = client.post(f"/account/tokens/{tok_id}/revoke")
    assert resp.status_code == 302
    with app.app_context(), database(app).transaction() as s:
        assert s.get(ApiToken, tok_id).revoked_at is None


def test_error_pages_are_localized(client, actors):
    assert "未找到" in client.get("/no-such-page").get_data(as_text=True)
    actors.login(client, actors.user("investor"))
    resp = client.get("/admin/users")
    assert resp.status_code == 403 and "角色" in resp.get_data(as_text=True)


def test_dashboard_panels_render_as_html_for_their_roles(app, client, actors):
    from flask import render_template_string

    from market.web import add_panel

    add_panel(app, lambda user, s: render_template_string(
        '<section class="card" data-test="p">{{ n }}</section>', n="<b>x</b>"), roles=("bank",))
    add_panel(app, lambda user, s: "<p data-test='op-only'>ops</p>", roles=("operator",))
    add_panel(app, lambda user, s: None, roles=("bank",))
    actors.login(client, actors.user("bank"))
    html = client.get("/dashboard").get_data(as_text=True)
    assert '<section class="card" data-test="p">&lt;b&gt;x&lt;/b&gt;</section>' in html
    assert "op-only" not in html


def test_a_dashboard_without_panels_offers_what_the_role_can_do(app, client, actors):
    from market.web import registry

    registry(app).panels.clear()  # as for a role no package has anything to show
    actors.login(client, actors.user("operator"))
    html = client.get("/dashboard").get_data(as_text=True)
    block = html.split('data-test="quick-actions"')[1].split("</section>")[0]
    assert "暂无需要您处理的事项" in block and "您可以做的事" in block
    assert 'href="/admin/settings"' in block and 'href="/dashboard"' not in block


def test_rate_limit_page_is_localized_and_api_keeps_json(app_config, actors):
    from market.app import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "1 per minute"})
    client = app.test_client()
    for _ in range(2):
        resp = client.post("/login", data={"email": "x@example.com", "password": "nope-nope-nope"})
    assert resp.status_code == 429 and "请稍候" in resp.get_data(as_text=True)


def test_server_error_page_is_localized(app_config):
    from market.app import create_app

    app = create_app({**app_config, "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    resp = app.test_client().get("/boom")
    assert resp.status_code == 500 and "未做任何更改" in resp.get_data(as_text=True)


def test_logout_is_audited(client, actors, db):
    from market.audit import AuditRecord

    user = actors.user("bank")
    actors.login(client, user)
    client.post("/logout")
    actions = db.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == user["id"])
                         .order_by(AuditRecord.id)).all()
    assert actions == ["user.login", "user.logout"]
    assert client.post("/logout").status_code == 302  # logged out already: nothing to record


def test_preferred_language_is_saved_on_the_user_and_follows_them(app, client, actors, db):
    from market.accounts.models import User

    user = actors.user("bank")
    actors.login(client, user)
    assert client.post("/account/language", data={"locale": "en"}).status_code == 302
    assert "Language saved." in client.get("/account").get_data(as_text=True)
    assert db.get(User, user["id"]).locale == "en"
    other = app.test_client()  # another browser, which asks for Chinese
    actors.login(other, user)
    html = other.get("/dashboard", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert ">Dashboard<" in html
    client.post("/account/language", data={"locale": "fr"})  # not offered: nothing changes
    db.rollback()
    assert db.get(User, user["id"]).locale == "en"


def test_ids_beyond_any_integer_are_404_on_pages(client, actors):
    actors.login(client, actors.user("operator"))
    huge = "99999999999999999999"
    for url in (f"/notifications/{huge}/read", f"/account/tokens/{huge}/revoke",
                f"/admin/users/{huge}/role"):
        assert client.post(url, data={"role": "bank"}).status_code == 404, url
