"""The live auction block, My bids and the deposits desk (UI.md)."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from auctions.models import Auction
from listings.models import Listing
from market.audit import AuditRecord
from market.payments.models import Deposit
from tests.auction_helpers import bid, make_auction, qualify


def test_live_block_on_the_listing_page_in_zh_and_en(client, db, actors):
    """UI.md: the live block (countdown, current price, min next bid, bid log) in zh and en."""
    lid, aid = make_auction(db, actors.user("bank"))
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    assert 'data-test="live-auction"' in html and f'data-auction-id="{aid}"' in html
    assert "最低出价" in html and "出价记录" in html and "实时竞价" in html
    assert "auction.js" in html
    client.get("/lang/en")
    from flask_babel import refresh

    refresh()  # the db fixture's app context outlives requests: drop Babel's cached locale
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    assert "Minimum next bid" in html and "Bid log" in html
    assert client.get(f"/auctions/{aid}").status_code in (200, 302)
    assert client.get("/static/js/auction.js").status_code == 200


def test_viewer_status_endpoint(client, db, actors):
    """UI.md: your status — no deposit → how to pay; qualified with code; leading/outbid."""
    op = actors.api("operator")
    inv = actors.user("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    body = client.get(f"/auctions/{aid}/me.json").get_json()
    assert body["logged_in"] is False and body["deposit_amount"] == "10000.00"
    actors.login(client, inv)
    body = client.get(f"/auctions/{aid}/me.json").get_json()
    assert body["role"] == "investor" and body["deposit"] is None and body["bidder_code"] is None
    r = client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"})
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    body = client.get(f"/auctions/{aid}/me.json").get_json()
    assert body["deposit"]["status"] == "pending" and body["deposit"]["reference"]
    op.post(f"/api/v1/deposits/{body['deposit']['id']}/confirm")
    body = client.get(f"/auctions/{aid}/me.json").get_json()
    assert body["bidder_code"] and body["leading"] is False
    r = client.post(f"/auctions/{aid}/web-bid", json={"amount": "100000.00"})
    assert r.status_code == 201
    assert client.get(f"/auctions/{aid}/me.json").get_json()["leading"] is True
    other = actors.api("investor")
    qualify(other, op, aid)
    bid(other, aid, "101000.00")
    body = client.get(f"/auctions/{aid}/me.json").get_json()
    assert body["leading"] is False and body["outbid"] is True
    r = client.post(f"/auctions/{aid}/web-bid", json={"amount": "101000.00"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "bid_too_low")


def test_web_bid_needs_the_csrf_header(app_config, db, actors):
    """Web endpoints use the session + CSRF header (X-CSRFToken)."""
    from market.app import create_app
    from tests.conftest import Actors

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    acts = Actors(app)
    op = acts.api("operator")
    inv = acts.user("investor")
    inv_api = acts.api("investor")
    _lid, aid = make_auction(db, acts.user("bank"))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": inv["email"], "password": inv["password"],
                                    "csrf_token": token})
    assert r.status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"}).status_code == 400
    r = client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 201
    op.post(f"/api/v1/deposits/{r.get_json()['id']}/confirm")
    r = client.post(f"/auctions/{aid}/web-bid", json={"amount": "100000.00"},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 201
    del inv_api


def test_my_bids_page_shows_auctions_and_deposits(client, db, actors):
    """UI.md: auctions I joined, my status in each, my deposits and where they are."""
    op = actors.api("operator")
    inv = actors.user("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    actors.login(client, inv)
    client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"})
    html = client.get("/my/bids").get_data(as_text=True)
    assert 'data-test="my-deposits"' in html and "DEP" in html
    dep = db.scalar(select(Deposit))
    op.post(f"/api/v1/deposits/{dep.id}/confirm")
    client.post(f"/auctions/{aid}/web-bid", json={"amount": "100000.00"})
    html = client.get("/my/bids").get_data(as_text=True)
    assert 'data-test="my-auctions"' in html
    assert client.get("/dashboard").status_code == 200


def test_operator_deposits_desk_confirms_and_audits(client, db, actors):
    """UI.md: payments desk — pending offline deposits with reference codes; confirm; audited."""
    inv = actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    dep = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"}).get_json()
    op = actors.user("operator")
    actors.login(client, op)
    html = client.get("/desk/deposits").get_data(as_text=True)
    assert dep["reference"] in html
    r = client.post(f"/desk/deposits/{dep['id']}/confirm")
    assert r.status_code == 302
    db.rollback()
    assert db.get(Deposit, dep["id"]).status == "held"
    rec = db.scalar(select(AuditRecord).where(AuditRecord.action == "deposit.held"))
    assert rec.actor_id == op["id"]
    assert f"confirm-{dep['reference']}" not in client.get("/desk/deposits").get_data(as_text=True)
    assert "/desk/deposits" in client.get("/dashboard").get_data(as_text=True)


def test_investor_cannot_use_the_desk(client, actors):
    """UI.md: the payments desk is the operators'."""
    actors.login(client, actors.user("investor"))
    assert client.get("/desk/deposits").status_code == 403


def test_winner_sees_the_balance_and_its_deadline(app, client, db, actors):
    """UI.md: after the close, what to do next — pay the balance by its deadline."""
    from tests.auction_helpers import move_times, run_scheduler

    op = actors.api("operator")
    inv = actors.user("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    actors.login(client, inv)
    dep = client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"}).get_json()
    op.post(f"/api/v1/deposits/{dep['id']}/confirm")
    client.post(f"/auctions/{aid}/web-bid", json={"amount": "100000.00"})
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    body = client.get(f"/auctions/{aid}/me.json").get_json()
    assert body["won"] is True and body["balance_due"] == "90000.00"
    assert body["balance_due_by"]


def _cell(html: str, test: str) -> str:
    m = re.search(rf'data-test="{test}"[^>]*>([^<]*)<', html)
    assert m, html[:2000]
    return m.group(1)


def _market_hhmm(when) -> str:
    """The wall-clock time in MARKET_TIMEZONE (Asia/Shanghai, UTC+8: never the UTC one)."""
    local = when.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo("Asia/Shanghai"))
    return local.strftime("%H:%M")


def test_deposit_desk_shows_yuan_market_time_and_the_listing(client, db, actors):
    """Issue 23: the deposits desk formats like the payments desk (¥, market time, a name)."""
    inv = actors.api("investor")
    lid, aid = make_auction(db, actors.user("bank"))
    dep = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"}).get_json()
    actors.login(client, actors.user("operator"))
    html = client.get("/desk/deposits").get_data(as_text=True)
    assert _cell(html, "amount") == "¥10,000.00"
    created = db.get(Deposit, dep["id"]).created_at
    assert _market_hhmm(created) in _cell(html, "created")
    assert " CNY" not in html and "UTC" not in _cell(html, "created")
    assert db.get(Listing, lid).title in html and f"/auctions/{aid}" in html


def test_my_bids_shows_yuan_and_market_time(client, db, actors):
    """Issue 23: 我的竞买 shows ¥ amounts and closing times in MARKET_TIMEZONE."""
    op = actors.api("operator")
    _lid, aid = make_auction(db, actors.user("bank"))
    actors.login(client, actors.user("investor"))
    client.post(f"/auctions/{aid}/web-deposit", json={"method": "offline"})
    op.post(f"/api/v1/deposits/{db.scalar(select(Deposit)).id}/confirm")
    assert client.post(f"/auctions/{aid}/web-bid", json={"amount": "100000.00"}).status_code == 201
    html = client.get("/my/bids").get_data(as_text=True)
    assert "¥100,000.00" in html and _cell(html, "deposit-amount") == "¥10,000.00"
    closes = _cell(html, "closes-at")
    assert _market_hhmm(db.get(Auction, aid).ends_at) in closes and "UTC" not in closes


def test_live_block_renders_yuan_and_market_time_before_any_script(client, db, actors):
    """Issue 23: the server-rendered live block (what shows before auction.js runs) uses ¥ and
    market time, not "100000.00" and an ISO UTC stamp."""
    op = actors.api("operator")
    lid, aid = make_auction(db, actors.user("bank"))
    inv = actors.api("investor")
    qualify(inv, op, aid)
    bid(inv, aid, "100000.00")
    html = client.get(f"/listings/{lid}").get_data(as_text=True)
    assert re.search(r'data-field="current">¥100,000\.00<', html)
    assert re.search(r'data-field="min">¥[\d,]+\.00<', html)
    ends = re.search(r'data-field="ends" datetime="[^"]+">([^<]+)<', html).group(1)
    assert _market_hhmm(db.get(Auction, aid).ends_at) in ends and "T" not in ends
