"""Issue 14 item 2: a card deposit still pending at the close is cancelled here — and its
PaymentIntent must be cancelled at Stripe too, or a buyer who confirms it afterwards (or
just before) is left with a hold (`requires_capture`) that nothing releases. Against a
real localstripe server."""
from __future__ import annotations

import pytest
import stripe
from sqlalchemy import select

from auctions import closing
from market.payments import deposits
from market.payments.models import Deposit
from market.audit import AuditRecord
from market.db import database
from market.payments.stripe_gateway import StripeGateway
from tests.auction_helpers import make_auction, move_times, run_scheduler


@pytest.fixture
def app_config(app_config, stripe_config):
    # No STRIPE_PAYMENT_METHOD: the intent waits for the buyer's browser to confirm it.
    return {**app_config, **stripe_config}


@pytest.fixture
def gateway(stripe_config):
    return StripeGateway(stripe_config["STRIPE_SECRET_KEY"], stripe_config["STRIPE_API_BASE"])


def _card_deposit(db, actors, app):
    seller = actors.user("bank")
    _lid, aid = make_auction(db, seller, starts_in=-60, lasts=3600)
    investor = actors.api("investor")
    resp = investor.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["status"] == "pending"
    db.rollback()
    dep = db.get(Deposit, resp.get_json()["id"])
    assert dep.provider_ref
    return aid, dep.id, dep.provider_ref


def _close(app, aid):
    move_times(app, aid, ends_in=-1)
    with app.app_context():
        assert closing.close_due(database(app), app) >= 1


def _confirm(gateway, ref) -> None:
    """What Stripe.js does in the buyer's browser: attach the card, confirm."""
    gateway.client.v1.payment_intents.update(ref, {"payment_method": "pm_card_visa"})
    gateway.client.v1.payment_intents.confirm(ref)


def _intent(gateway, ref) -> str:
    return gateway.client.v1.payment_intents.retrieve(ref).status


def test_a_hold_confirmed_after_the_close_is_cancelled_at_stripe(app, db, actors, gateway):
    aid, dep_id, ref = _card_deposit(db, actors, app)
    _close(app, aid)
    db.rollback()
    # Not cancelled yet: its intent must be cancelled at Stripe first (the sweep).
    assert db.get(Deposit, dep_id).status == "cancelling"
    # The buyer's browser confirms the card after the close: Stripe now holds the money.
    _confirm(gateway, ref)
    assert _intent(gateway, ref) == "requires_capture"

    run_scheduler(app)
    assert _intent(gateway, ref) == "canceled"
    db.rollback()
    db.expire_all()
    dep = db.get(Deposit, dep_id)
    assert dep.status == "cancelled"
    audits = list(db.scalars(select(AuditRecord).where(
        AuditRecord.action == "deposit.hold_cancelled", AuditRecord.object_id == dep_id)))
    assert len(audits) == 1
    # Once: the next sweep has nothing to do.
    with app.app_context():
        assert deposits.cancel_dead_holds(database(app), app) == 0


def test_an_unconfirmed_intent_is_cancelled_so_it_cannot_be_confirmed_later(app, db, actors,
                                                                           gateway):
    aid, dep_id, ref = _card_deposit(db, actors, app)
    _close(app, aid)
    assert _intent(gateway, ref) != "canceled"
    with app.app_context():
        assert deposits.cancel_dead_holds(database(app), app) == 1
    assert _intent(gateway, ref) == "canceled"
    with pytest.raises(Exception):
        _confirm(gateway, ref)
    assert _intent(gateway, ref) == "canceled"
