"""Deposits: 法释〔2016〕18号 — paying the deposit qualifies a bidder with an anonymous code."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from auctions.models import AuctionBidder, BarredBidder
from market.audit import AuditRecord
from market.payments.models import Deposit
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


def test_card_deposit_qualifies_and_the_losers_hold_is_cancelled(app_config, stripe_config,
                                                                 db, actors):
    """法释〔2016〕18号: a paid deposit qualifies; a loser's deposit is released at the close —
    for a card hold the release job cancels the PaymentIntent outside any transaction."""
    from market.app import create_app
    from market.payments.gateway import gateway_for
    from tests.auction_helpers import run_scheduler
    from tests.conftest import Actors

    config = {**app_config, **stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"}
    app2 = create_app(config)
    acts = Actors(app2)
    op, card, winner = acts.api("operator"), acts.api("investor"), acts.api("investor")
    _lid, aid = make_auction(db, acts.user("bank"))
    r = card.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"})
    assert r.status_code == 201 and r.get_json()["status"] == "held", r.get_json()
    dep_id = r.get_json()["id"]
    assert bid(card, aid, "100000.00").status_code == 201
    qualify(winner, op, aid)
    assert bid(winner, aid, "101000.00").status_code == 201
    move_times(app2, aid, ends_in=-1)
    run_scheduler(app2)
    db.rollback()
    dep = db.get(Deposit, dep_id)
    assert dep.status == "released" and dep.released_at is not None
    assert gateway_for("stripe", config).retrieve(dep.provider_ref).status == "released"


def test_card_deposit_authorised_later_is_picked_up_by_the_scheduler(app_config, stripe_config,
                                                                      db, actors):
    """A card deposit starts pending (the browser authorises it with client_secret); once
    Stripe says the hold is authorised the scheduler qualifies the bidder, webhook or not."""
    from market.app import create_app
    from market.payments.gateway import gateway_for
    from tests.auction_helpers import run_scheduler

    app2 = create_app({**app_config, **stripe_config})
    inv = actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"})
    assert r.status_code == 422  # this app has no Stripe configured
    # The state after the browser authorised the hold and the webhook was lost: an
    # authorised PaymentIntent, our row still pending.
    held = gateway_for("stripe", {**stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"}).hold(
        amount=Decimal("10000.00"), currency="cny", idempotency_key=f"test-{aid}",
        description="deposit", metadata={"kind": "deposit"})
    assert held.status == "held"
    db.rollback()
    db.add(Deposit(listing_id=_lid, auction_id=aid, user_id=inv.user["id"],
                   org_id=inv.user["org_id"],
                   amount=Decimal("10000.00"), method="stripe", status="pending",
                   reference="DEPTEST", provider_ref=held.provider_ref,
                   idempotency_key=f"test-{aid}", created_at=utcnow()))
    db.commit()
    run_scheduler(app2)
    db.rollback()
    assert db.scalar(select(Deposit.status)) == "held"
    assert db.scalar(select(AuctionBidder.code).where(AuctionBidder.user_id == inv.user["id"]))


def test_forfeited_card_deposit_is_captured_once(app_config, stripe_config, db):
    """法释〔2016〕18号 (悔拍): the defaulting winner's deposit is forfeited — a card hold is
    captured by the scheduler outside any transaction, once."""
    from market.app import create_app
    from market.db import database
    from market.payments.gateway import gateway_for
    from market.settlement import services as settlement
    from market.settlement.models import Settlement
    from tests.auction_helpers import run_scheduler
    from tests.conftest import Actors

    config = {**app_config, **stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"}
    app2 = create_app(config)
    acts = Actors(app2)
    card = acts.api("investor")
    _lid, aid = make_auction(db, acts.user("bank"))
    dep_id = card.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"}).get_json()["id"]
    assert bid(card, aid, "100000.00").status_code == 201
    move_times(app2, aid, ends_in=-1)
    run_scheduler(app2)
    with app2.app_context(), database(app2).transaction() as s:
        st = s.scalar(select(Settlement))
        assert settlement.mark_defaulted(s, st.id)
    run_scheduler(app2)
    run_scheduler(app2)
    db.rollback()
    dep = db.get(Deposit, dep_id)
    assert dep.status == "captured"
    assert gateway_for("stripe", config).retrieve(dep.provider_ref).status == "paid"
    assert len(db.scalars(select(AuditRecord).where(
        AuditRecord.action == "deposit.captured")).all()) == 1
