"""UI.md "Every journey ends on the site": the receiving account wherever a transfer is
asked for, the winner pays the balance on the site, and the live block's statuses."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from market import settings_store
from market.audit import AuditRecord
from market.payments.models import Payment
from tests.auction_helpers import make_auction, move_times, run_scheduler

ACCOUNT = {"receiving_account_name": "知识产权交易所有限公司",
           "receiving_account_bank": "中国工商银行北京分行",
           "receiving_account_number": "0200 0010 0900 1234 567"}


def _page_values(db) -> dict[str, str]:
    return {k: str(v) for k, v in settings_store.all_values(db).items()
            if settings_store.SPECS[k].shown}


def _set_account(client, db, actors) -> None:
    """Through the settings page, as an operator would."""
    actors.login(client, actors.user("operator"))
    assert client.post("/admin/settings", data={**_page_values(db), **ACCOUNT}).status_code == 302
    client.get("/logout")


def _won(app, client, db, actors, **kw):
    """An investor (logged in on `client`) who has won; → (listing_id, auction_id)."""
    op = actors.api("operator")
    lid, aid = make_auction(db, actors.user("bank"), **kw)
    actors.login(client, actors.user("investor"))
    dep = client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"}).get_json()
    op.post(f"/api/v1/deposits/{dep['id']}/confirm")
    assert client.post(f"/auctions/{aid}/web-bid", json={"amount": "100000.00"}).status_code == 201
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    return lid, aid


def test_receiving_account_is_an_operator_setting_shown_with_the_deposit(client, db, actors):
    lid, _aid = make_auction(db, actors.user("bank"))
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    assert 'data-test="receiving-account-missing"' in html
    assert ACCOUNT["receiving_account_number"] not in html
    actors.login(client, actors.user("operator"))
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "receiving_account_number" in page and "收款账户：账号" in page
    client.get("/logout")
    _set_account(client, db, actors)
    db.rollback()
    assert settings_store.receiving_account(db) == {
        "name": ACCOUNT["receiving_account_name"], "bank": ACCOUNT["receiving_account_bank"],
        "number": ACCOUNT["receiving_account_number"]}
    assert db.scalar(select(AuditRecord).where(AuditRecord.action == "setting.update"))
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    block = html[html.index('data-role="account"'):html.index('data-role="deposit"')]
    for value in ACCOUNT.values():
        assert value in block
    assert 'data-test="receiving-account-missing"' not in html


def test_a_long_account_setting_is_refused_and_nothing_is_saved(client, db, actors):
    actors.login(client, actors.user("operator"))
    r = client.post("/admin/settings", data={**_page_values(db), **ACCOUNT,
                                             "receiving_account_name": "x" * 65})
    assert r.status_code == 422
    db.rollback()
    assert settings_store.receiving_account(db) is None


def test_the_winner_pays_the_balance_on_the_site(app, client, db, actors):
    _set_account(client, db, actors)
    lid, aid = _won(app, client, db, actors)
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    assert 'data-test="pay-balance-form"' in html
    assert f'action="/listings/{lid}/pay-balance"' in html
    mine = client.get("/my/bids").get_data(as_text=True)
    assert 'data-test="my-balance"' in mine and "¥90,000.00" in mine
    assert f'action="/listings/{lid}/pay-balance"' in mine
    r = client.post(f"/listings/{lid}/pay-balance")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    db.rollback()
    p = db.scalar(select(Payment).where(Payment.listing_id == lid))
    assert (p.purpose, p.method, p.status, p.amount) == ("balance", "offline", "pending",
                                                         Decimal("90000.00"))
    assert p.reference in page and ACCOUNT["receiving_account_number"] in page
    assert "¥90,000.00" in page and "支付尾款" in page and "开户银行" in page
    # Pressing again shows the same payment, not a second one.
    assert p.reference in client.post(f"/listings/{lid}/pay-balance").get_data(as_text=True)
    assert len(db.scalars(select(Payment).where(Payment.listing_id == lid)).all()) == 1
    client.get("/logout")
    actors.login(client, actors.user("operator"))
    assert p.reference in client.get("/admin/payments").get_data(as_text=True)


def test_only_the_winner_may_ask_to_pay(app, client, db, actors):
    lid, _aid = _won(app, client, db, actors)
    client.get("/logout")
    actors.login(client, actors.user("investor"))  # another investor
    r = client.post(f"/listings/{lid}/pay-balance")
    assert r.status_code == 302
    db.rollback()
    assert db.scalar(select(Payment).where(Payment.listing_id == lid)) is None
    client.get("/logout")
    actors.login(client, actors.user("bank"))
    assert client.post(f"/listings/{lid}/pay-balance").status_code == 403


def test_pay_balance_needs_the_csrf_token(app_config, db, actors):
    from market.app import create_app
    from tests.conftest import Actors

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    acts = Actors(app)
    inv = acts.user("investor")
    lid, _aid = make_auction(db, acts.user("bank"))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"email": inv["email"], "password": inv["password"],
                                "csrf_token": token})
    assert client.post(f"/listings/{lid}/pay-balance").status_code == 400


def test_reserve_status_only_where_a_reserve_exists(client, db, actors):
    lid, _aid = make_auction(db, actors.user("bank"))
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    assert 'data-field="reserve"' not in html
    lid2, _aid2 = make_auction(db, actors.user("bank"), reserve_price="150000.00")
    html = client.get(f"/listings/{lid2}").get_data(as_text=True)
    assert 'data-field="reserve"' in html and "未达保留价" in html


def test_hidden_always_hides(client):
    css = client.get("/static/css/app.css").get_data(as_text=True)
    assert re.search(r"\[hidden\]\s*\{\s*display:\s*none\s*!important;?\s*\}", css)
