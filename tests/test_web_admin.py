"""Operator pages: rule settings with their legal sources, users and roles, the audit log."""
from __future__ import annotations

import re

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market import settings_store
from market.audit import AuditRecord
from market.db import database
from market.settings_store import SPECS, Setting


@pytest.fixture
def db(app):
    """Like conftest's `db`, but without pushing an app context: the test client's requests
    would share that context's `g` (and with it the logged-in user) between two clients."""
    engine = database(app).engine.execution_options(sqlite_deferred=True)
    s = database(app).sessions(bind=engine)
    yield s
    s.close()


def _operator(actors, client):
    user = actors.user("operator")
    actors.login(client, user)
    return user


def test_settings_page_lists_every_setting_with_its_legal_source(client, actors):
    _operator(actors, client)
    html = client.get("/admin/settings").get_data(as_text=True)
    for key, spec in SPECS.items():
        if not spec.shown:  # a feature not built yet (test_settings_effects)
            continue
        row = html.split(f'id="setting-{key}"')[1].split("</tr>")[0]
        # The legal source is shown with every setting, in the page's language.
        source = re.search(r'source">(.*?)</td>', row, re.S).group(1).strip()
        assert spec.source in source or re.search(r"[\u4e00-\u9fff]", source), (key, source)
        assert f'name="{key}"' in row
    assert "法释〔2016〕18号" in html and "拍卖法 56" in html
    assert "起拍价" in html  # labels are translated (zh is the default locale)
    assert "交易中心规则" in html and "专利法（年费）" in html


def test_settings_page_is_for_operators_only(client, actors):
    actors.login(client, actors.user("bank"))
    assert client.get("/admin/settings").status_code == 403
    assert client.post("/admin/settings", data={"ltv_threshold": "0.9"}).status_code == 403


def test_saving_a_setting_changes_it_and_is_audited(app, client, actors, db):
    """民法典 433: the LTV flag threshold is the operator's to set."""
    op = _operator(actors, client)
    resp = client.post("/admin/settings", data={"ltv_threshold": "0.65",
                                                "balance_due_days": "15"})
    assert resp.status_code == 302
    assert db.get(Setting, "ltv_threshold").value == "0.65"
    assert settings_store.get(db, "balance_due_days") == 15
    rows = db.scalars(select(AuditRecord).where(AuditRecord.action == "setting.update")).all()
    assert len(rows) == 2 and all(r.actor_id == op["id"] for r in rows)
    changed = {**json.loads(rows[0].after), **json.loads(rows[1].after)}
    assert changed == {"ltv_threshold": "0.65", "balance_due_days": "15"}
    html = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="0.65"' in html and op["email"] in html
    # unchanged values are not re-saved (no audit noise)
    client.post("/admin/settings", data={"ltv_threshold": "0.65"})
    assert db.scalar(select(func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "setting.update")) == 2


def test_bad_values_are_refused_with_a_clear_error_and_nothing_is_saved(client, actors, db):
    """拍卖法 56: commission at most 5%; a bad value anywhere saves none of the form."""
    _operator(actors, client)
    resp = client.post("/admin/settings", data={"ltv_threshold": "0.5",
                                                "seller_commission_rate": "0.08",
                                                "min_auction_seconds": "abc",
                                                "balance_due_days": "-3"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "未保存" in html  # flash: nothing was saved
    commission = html.split('id="setting-seller_commission_rate"')[1].split("</tr>")[0]
    assert "0.05" in commission and "拍卖法 56" in commission and 'class="error"' in commission
    assert 'class="error"' in html.split('id="setting-min_auction_seconds"')[1].split("</tr>")[0]
    assert 'class="error"' in html.split('id="setting-balance_due_days"')[1].split("</tr>")[0]
    assert 'class="error"' not in html.split('id="setting-ltv_threshold"')[1].split("</tr>")[0]
    db.rollback()  # a fresh snapshot (SQLite WAL keeps the old one open)
    assert db.scalar(select(func.count()).select_from(Setting)) == 0
    assert db.scalar(select(func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "setting.update")) == 0
    assert settings_store.get(db, "ltv_threshold") == Decimal("0.70")


def test_deposit_minimum_cannot_exceed_maximum(client, actors, db):
    """法释〔2016〕18号: the deposit is 5–20% of the starting price; min ≤ max."""
    _operator(actors, client)
    resp = client.post("/admin/settings", data={"deposit_min_ratio": "0.30"})
    assert resp.status_code == 422
    assert db.scalar(select(func.count()).select_from(Setting)) == 0


def test_settings_form_needs_csrf(app_config, actors):
    from market.app import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    op = actors.user("operator")
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"email": op["email"], "password": op["password"],
                                       "csrf_token": token}).status_code == 302
    resp = client.post("/admin/settings", data={"ltv_threshold": "0.1"})
    assert resp.status_code == 400
    assert "请重试" in resp.get_data(as_text=True)
    with app.app_context():
        from market.db import database
        with database(app).transaction() as s:
            assert s.get(Setting, "ltv_threshold") is None


def test_operator_changes_a_role_audited_and_the_user_is_signed_out(app, client, actors, db):
    op = _operator(actors, client)
    target = actors.user("investor")
    other = app.test_client()
    actors.login(other, target)
    assert other.get("/dashboard").status_code == 200

    resp = client.post(f"/admin/users/{target['id']}/role", data={"role": "bank"})
    assert resp.status_code == 302
    rec = db.scalar(select(AuditRecord).where(AuditRecord.action == "user.role_change"))
    assert rec.actor_id == op["id"] and rec.object_id == target["id"]
    assert json.loads(rec.before) == {"role": "investor"} and json.loads(rec.after) == {"role": "bank"}
    assert other.get("/dashboard").status_code == 302  # their session ended

    table = client.get("/admin/users?role=bank").get_data(as_text=True).split("<tbody>")[1]
    assert target["email"] in table and op["email"] not in table


def test_role_change_refusals_write_nothing(client, actors, db):
    op = _operator(actors, client)
    target = actors.user("investor")
    assert client.post("/admin/users/999999/role", data={"role": "bank"}).status_code == 404
    client.post(f"/admin/users/{target['id']}/role", data={"role": "superuser"})
    assert "请选择一个角色" in client.get("/admin/users").get_data(as_text=True)
    client.post(f"/admin/users/{op['id']}/role", data={"role": "bank"})  # not your own
    assert "不能修改自己的角色" in client.get("/admin/users").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "user.role_change")) == 0


def test_users_page_is_for_operators_only(client, actors):
    actors.login(client, actors.user("bank"))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_audit_log_filters_by_actor_action_object_and_date(app, client, actors, db):
    op = _operator(actors, client)
    bank = actors.user("bank")
    actors.login(app.test_client(), bank)
    client.post("/admin/settings", data={"ltv_threshold": "0.6"})
    # an old record, dated a week ago in the market's time zone
    old = AuditRecord(at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7),
                      actor_id=bank["id"], action="loan.default", object_type="loan",
                      object_id=42)
    db.add(old)
    db.commit()

    def actions(**q):
        html = client.get("/admin/audit", query_string=q).get_data(as_text=True)
        body = html.split('data-test="audit-rows"')[1]
        return [c.split("</code>")[0] for c in body.split("<td><code>")[1:]]

    assert set(actions()) >= {"user.login", "setting.update", "loan.default"}
    assert set(actions(actor=bank["email"])) == {"user.login", "loan.default"}
    assert set(actions(actor=str(op["id"]))) == {"user.login", "setting.update"}
    assert actions(action="setting.update") == ["setting.update"]
    by_prefix = actions(action="user.")
    assert "user.login" in by_prefix and all(a.startswith("user.") for a in by_prefix)
    assert actions(object_type="loan", object_id="42") == ["loan.default"]
    assert actions(object_type="loan", object_id="43") == []
    today = dt.datetime.now(dt.timezone.utc).date()
    assert "loan.default" not in actions(since=(today - dt.timedelta(days=1)).isoformat())
    assert actions(until=(today - dt.timedelta(days=5)).isoformat()) == ["loan.default"]
    assert "loan.default" in actions(since="not-a-date")  # a bad date is ignored, not a 500
