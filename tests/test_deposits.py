"""Deposits: 法释〔2016〕18号 — paying the deposit qualifies a bidder with an anonymous code."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from auctions.models import AuctionBidder, BarredBidder, Deposit
from market.audit import AuditRecord
from market.settlement.models import JournalEntry
from market.timeutil import utcnow
from tests.auction_helpers import bid, make_auction, move_times, qualify


def test_offline_deposit_is_pending_until_the_operator_confirms(db, actors):
    """API.md: POST /auctions/{id}/deposits {method: offline} → 201 pending; confirm → held;
    the bidder gets an anonymous random code for this auction."""
    op, inv = actors.api("operator"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), deposit="12000.00")
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["status"] == "pending" and body["amount"] == "12000.00" and body["reference"]
    assert bid(inv, aid, "100000.00").get_json()["error"]["code"] == "deposit_required"
    r = op.post(f"/api/v1/deposits/{body['id']}/confirm")
    assert r.status_code == 200 and r.get_json()["status"] == "held"
    code = db.scalar(select(AuctionBidder.code).where(AuctionBidder.auction_id == aid))
    assert code and len(code) == 6 and inv.user["email"] not in code
    assert db.scalar(select(JournalEntry.kind).where(JournalEntry.ref_id == body["id"])) \
        == "deposit.held"
    assert db.scalar(select(AuditRecord.id).where(AuditRecord.action == "deposit.held"))
    assert bid(inv, aid, "100000.00").get_json()["bid"]["bidder_code"] == code
    r = op.post(f"/api/v1/deposits/{body['id']}/confirm")
    assert r.status_code == 409


def test_deposit_roles_and_errors(db, actors):
    """API.md: investors only; stripe without Stripe configured → 422 method_unavailable;
    unknown auction → 404; a second live deposit → 409."""
    op, inv, bank = actors.api("operator"), actors.api("investor"), actors.api("bank")
    _lid, aid = make_auction(db, actors.user("bank"))
    assert bank.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"}).status_code == 403
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "method_unavailable")
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "cash"})
    assert r.status_code == 422
    assert inv.post("/api/v1/auctions/99999/deposits", json={"method": "offline"}).status_code == 404
    assert inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"}).status_code == 201
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "deposit_exists")
    assert inv.post("/api/v1/deposits/5/confirm").status_code == 403
    assert op.post("/api/v1/deposits/99999/confirm").status_code == 404
    assert db.scalar(select(Deposit.id).where(Deposit.method == "stripe")) is None


def test_deposits_only_while_scheduled_or_open(app, db, actors):
    """API.md: deposits are taken while the auction is scheduled or open."""
    inv = actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), starts_in=3600)
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"})
    assert r.status_code == 201  # scheduled
    inv2 = actors.api("investor")
    move_times(app, aid, starts_in=-7200, ends_in=-1)
    r = inv2.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "auction_not_open")


def test_barred_defaulter_is_refused(db, actors):
    """法释〔2016〕18号 (悔拍): the defaulter may not bid in the re-sale."""
    inv = actors.api("investor")
    lid, aid = make_auction(db, actors.user("bank"))
    db.add(BarredBidder(listing_id=lid, user_id=inv.user["id"], reason="defaulted", at=utcnow()))
    db.commit()
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "bidder_barred")


def test_stripe_deposit_holds_through_localstripe(app_config, stripe_config, actors, db):
    """A card deposit is a manual-capture hold (gateway called outside the transaction)."""
    from market.app import create_app

    app2 = create_app({**app_config, **stripe_config})
    from tests.conftest import Actors

    actors2 = Actors(app2)
    inv = actors2.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] in ("pending", "held") and body["client_secret"]
    assert Decimal(body["amount"]) == Decimal("10000.00")
    dep = db.get(Deposit, body["id"])
    assert dep.provider_ref and dep.method == "stripe"
