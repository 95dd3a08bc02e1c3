"""Stripe against a real localstripe server: deposits (manual capture), the balance,
exactly-once intent creation, and the webhook (duplicate, replayed, forged, reordered)."""
from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from market import hooks
from market.payments import services as payment_services
from market.payments.models import Payment, StripeEvent
from market.payments.stripe_gateway import StripeGateway
from market.settlement.cli import verify
from market.settlement.models import JournalEntry, Settlement
from tests.settlement_helpers import make_sale
from tests.stripe_fixtures import sign_webhook

D = Decimal
WEBHOOK = "/api/v1/stripe/webhook"


@pytest.fixture
def app_config(app_config, stripe_config):
    # pm_card_visa: the intent is confirmed server-side at create (localstripe cannot
    # confirm with a payment method later).
    return {**app_config, **stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"}


@pytest.fixture
def gateway(stripe_config):
    return StripeGateway(stripe_config["STRIPE_SECRET_KEY"], stripe_config["STRIPE_API_BASE"],
                         "pm_card_visa")


@pytest.fixture
def sale(db, actors):
    # A balance a card can carry (Stripe takes at most ¥999,999.99 in one charge).
    return make_sale(db, actors, parties=(), price="900000.00", deposit="90000.00")


def intents_with(gateway, key: str, value: str) -> list[dict]:
    out = []
    for pi in gateway.client.v1.payment_intents.list({"limit": 100}).auto_paging_iter():
        d = pi.to_dict()
        if d.get("metadata", {}).get(key) == value:
            out.append(d)
    return out


def event(evt_id: str, etype: str, obj: dict, created: int | None = None) -> dict:
    return {"id": evt_id, "object": "event", "type": etype, "api_version": "2024-06-20",
            "created": created or int(time.time()), "data": {"object": obj}}


def deliver(client, payload, **sign_kw):
    body, headers = sign_webhook(payload, **sign_kw)
    return client.post(WEBHOOK, data=body, headers=headers)


def pay_by_card(sale) -> dict:
    r = sale["buyer"].post(f"/api/v1/listings/{sale['sc'].listing_id}/payments",
                           json={"method": "stripe"})
    assert r.status_code == 201, r.json
    return r.json


def test_deposit_hold_capture_cancel(gateway):
    """Deposits are manual-capture PaymentIntents: capture applies, cancel releases."""
    held = gateway.hold(amount=D("50000.00"), currency="CNY", idempotency_key="dep:1:hold",
                        description="deposit", metadata={"kind": "deposit", "deposit_id": "1"})
    assert held.status == "held" and held.provider_ref.startswith("pi_")
    obj = gateway.retrieve_object(held.provider_ref)
    assert obj["amount"] == 5000000 and obj["capture_method"] == "manual"
    assert gateway.capture(held.provider_ref, amount=None,
                           idempotency_key="dep:1:capture").status == "paid"
    other = gateway.hold(amount=D("50000.00"), currency="CNY", idempotency_key="dep:2:hold",
                         description="deposit", metadata={"kind": "deposit"})
    assert gateway.cancel(other.provider_ref, idempotency_key="dep:2:cancel").status == "released"
    assert gateway.retrieve(other.provider_ref).status == "released"


def test_balance_by_card_settles_on_webhook(sale, client, db, runner):
    """API.md: a Stripe payment settles when its webhook is applied."""
    pay = pay_by_card(sale)
    assert pay["status"] == "pending" and pay["amount"] == "810000.00"
    assert pay["client_secret"]
    p = db.get(Payment, pay["id"])
    assert p.provider_ref and p.idempotency_key.startswith(f"balance:{sale['st'].id}:1:")
    obj = {"id": p.provider_ref, "object": "payment_intent", "status": "succeeded",
           "metadata": {"kind": "balance"}}
    r = deliver(client, event("evt_bal_1", "payment_intent.succeeded", obj))
    assert r.status_code == 200 and r.json["result"] == "settled", r.json
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.get(Payment, p.id).status == "paid"
    assert db.get(Settlement, sale["st"].id).status == "settled"
    # a duplicate delivery is acknowledged and changes nothing
    r = deliver(client, event("evt_bal_1", "payment_intent.succeeded", obj))
    assert r.status_code == 200 and r.json.get("duplicate") is True
    assert db.query(StripeEvent).count() == 1
    assert db.query(JournalEntry).filter_by(ref_type="settlement").count() == 3
    assert verify(db) == []
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_intent_is_created_once(sale, db, gateway):
    """localstripe ignores Idempotency-Key, so never calling Stripe twice for one intent
    is ours: asking to pay twice reuses the intent; a crash between Stripe's answer and
    our commit is recovered by the key, not answered with a second intent."""
    first = pay_by_card(sale)
    second = pay_by_card(sale)
    assert first["id"] == second["id"]
    key = db.get(Payment, first["id"]).idempotency_key
    assert len(intents_with(gateway, "idempotency_key", key)) == 1

    # Simulate the crash: the call was claimed and made, but its answer never stored.
    p = db.get(Payment, first["id"])
    payment_services.cancel_payment(db, p.id, actor_id=None)
    db.commit()
    p2 = payment_services.start_balance_payment(db, listing_id=sale["sc"].listing_id,
                                                user=_user(db, sale["buyer"]), method="stripe")
    db.commit()
    assert payment_services.claim_provider_call(db, p2.id)
    db.commit()
    crashed = gateway.charge(amount=p2.amount, currency="CNY",
                             idempotency_key=p2.idempotency_key, description="x",
                             metadata={"kind": "balance", "payment_id": str(p2.id)})
    # ... process dies here; a retry comes:
    p2 = payment_services.ensure_intent(db, p2, gateway)
    assert p2.provider_ref == crashed.provider_ref
    assert len(intents_with(gateway, "idempotency_key", p2.idempotency_key)) == 1


def _user(db, api_client):
    from market.accounts.models import User

    return db.get(User, api_client.user["id"])


def test_forged_and_replayed_webhooks_refused(sale, client, db):
    """Only Stripe's signature, fresh (5-minute tolerance), is accepted."""
    pay = pay_by_card(sale)
    p = db.get(Payment, pay["id"])
    obj = {"id": p.provider_ref, "object": "payment_intent", "status": "succeeded",
           "metadata": {"kind": "balance"}}
    forged = deliver(client, event("evt_forged", "payment_intent.succeeded", obj),
                     secret="whsec_wrong")
    assert forged.status_code == 400 and forged.json["error"]["code"] == "invalid_signature"
    replayed = deliver(client, event("evt_old", "payment_intent.succeeded", obj),
                       timestamp=int(time.time()) - 3600)
    assert replayed.status_code == 400
    unsigned = client.post(WEBHOOK, data=json.dumps(event("evt_x", "x", obj)),
                           headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 400
    body, headers = sign_webhook(event("evt_tamper", "payment_intent.succeeded", obj))
    tampered = client.post(WEBHOOK, data=body.replace("succeeded", "canceled"), headers=headers)
    assert tampered.status_code == 400
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.query(StripeEvent).count() == 0
    assert db.get(Settlement, sale["st"].id).status == "awaiting_payment"


def test_reordered_webhooks(sale, client, db):
    """Events may arrive late and out of order: we act on the intent's state re-read from
    Stripe, so a stale event neither undoes nor repeats anything."""
    pay = pay_by_card(sale)
    p = db.get(Payment, pay["id"])
    stale = {"id": p.provider_ref, "object": "payment_intent",
             "status": "requires_confirmation", "metadata": {"kind": "balance"}}
    fresh = dict(stale, status="succeeded")
    now = int(time.time())
    # succeeded (t+1) arrives first, then the older "created" event
    r1 = deliver(client, event("evt_b", "payment_intent.succeeded", fresh, now + 1))
    r2 = deliver(client, event("evt_a", "payment_intent.created", stale, now))
    assert r1.json["result"] == "settled"
    assert r2.status_code == 200 and "nothing to do" in r2.json["result"]
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.get(Payment, p.id).status == "paid"
    assert db.query(JournalEntry).filter_by(ref_type="settlement").count() == 3
    assert db.query(StripeEvent).count() == 2


def test_stale_payload_first_still_settles(sale, client, db):
    """An old event whose payload predates success still settles: Stripe says succeeded."""
    pay = pay_by_card(sale)
    p = db.get(Payment, pay["id"])
    stale = {"id": p.provider_ref, "object": "payment_intent",
             "status": "requires_confirmation", "metadata": {"kind": "balance"}}
    r = deliver(client, event("evt_c", "payment_intent.created", stale))
    assert r.json["result"] == "settled"


def test_lost_webhook_settled_by_scheduler(sale, db, app):
    """API.md: a Stripe payment settles on the next scheduler run if no webhook came."""
    from market.scheduler import run_once

    pay = pay_by_card(sale)
    with app.app_context():
        assert run_once(app) >= 1
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.get(Payment, pay["id"]).status == "paid"
    assert db.get(Settlement, sale["st"].id).status == "settled"
    with app.app_context():
        assert run_once(app) == 0
    assert verify(db) == []


def test_deposit_events_go_to_the_deposit_hook(client, db, gateway):
    """metadata.kind "deposit" → hook payments.webhook.deposit with the re-read intent."""
    held = gateway.hold(amount=D("1000.00"), currency="CNY", idempotency_key="dep:hook",
                        description="deposit", metadata={"kind": "deposit", "deposit_id": "9"})
    seen = []

    def handler(session, event_type, obj):
        seen.append((event_type, obj["id"], obj["status"], obj["metadata"]["deposit_id"]))

    with hooks.registered("payments.webhook.deposit", handler):
        obj = {"id": held.provider_ref, "object": "payment_intent", "status": "processing",
               "metadata": {"kind": "deposit"}}
        r = deliver(client, event("evt_dep", "payment_intent.amount_capturable_updated", obj))
    assert r.status_code == 200
    assert seen == [("payment_intent.amount_capturable_updated", held.provider_ref,
                     "requires_capture", "9")]


def test_declined_card(sale, app_config, db, gateway):
    """A declined card: 422 payment_declined, the payment is failed, nothing settles."""
    from market.app import create_app
    from market.db import database

    # localstripe declines this test card number when it is charged
    pm = gateway.client.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4000000000000341", "exp_month": 12,
                                  "exp_year": 2030, "cvc": "123"}})
    app2 = create_app({**app_config, "STRIPE_PAYMENT_METHOD": pm.id})
    c = app2.test_client()
    r = c.post(f"/api/v1/listings/{sale['sc'].listing_id}/payments", json={"method": "stripe"},
               headers=sale["buyer"].headers)
    database(app2).engine.dispose()
    assert r.status_code == 422 and r.json["error"]["code"] == "payment_declined", r.json
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert [p.status for p in db.query(Payment)] == ["failed"]
    assert db.get(Settlement, sale["st"].id).status == "awaiting_payment"


def test_webhook_is_csrf_exempt(sale, app_config, db):
    """Stripe cannot send our CSRF token: the webhook is exempt (its signature is the proof)."""
    from market.app import create_app
    from market.db import database

    app2 = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    pay = pay_by_card(sale)
    ref = db.get(Payment, pay["id"]).provider_ref
    obj = {"id": ref, "object": "payment_intent", "status": "succeeded",
           "metadata": {"kind": "balance"}}
    r = deliver(app2.test_client(), event("evt_csrf", "payment_intent.succeeded", obj))
    database(app2).engine.dispose()
    assert r.status_code == 200 and r.json["result"] == "settled", r.json


def test_reconcile_recovers_an_intent_whose_answer_was_lost(sale, db, app, gateway):
    """A crash between Stripe's answer and our commit: the reconcile job finds the intent
    by its idempotency key (no second intent), records it and settles once it succeeded."""
    import datetime as dt

    from market.scheduler import run_once

    p = payment_services.start_balance_payment(db, listing_id=sale["sc"].listing_id,
                                               user=_user(db, sale["buyer"]), method="stripe")
    db.commit()
    assert payment_services.claim_provider_call(db, p.id)
    db.commit()
    crashed = gateway.charge(amount=p.amount, currency="CNY", idempotency_key=p.idempotency_key,
                             description="x", metadata={"kind": "balance",
                                                        "payment_id": str(p.id)})
    db.refresh(p)
    p.provider_call_at = p.provider_call_at - dt.timedelta(minutes=5)
    db.commit()
    with app.app_context():
        assert run_once(app) >= 1
    db.rollback(); db.expire_all()  # noqa: E702
    p = db.get(Payment, p.id)
    assert p.provider_ref == crashed.provider_ref and p.status == "paid"
    assert db.get(Settlement, sale["st"].id).status == "settled"
    assert len(intents_with(gateway, "idempotency_key", p.idempotency_key)) == 1


def test_balance_above_the_card_limit_is_refused_before_any_call(db, actors, gateway):
    """Stripe takes at most 8 digits of minor units per charge: a ¥1,800,000 balance by card
    is refused with a clear error pointing to the bank transfer; nothing is created, here
    or at Stripe, and the offline method still works."""
    big = make_sale(db, actors, parties=())
    url = f"/api/v1/listings/{big['sc'].listing_id}/payments"
    before = len(intents_with(gateway, "kind", "balance"))
    r = big["buyer"].post(url, json={"method": "stripe"})
    assert r.status_code == 422
    assert r.json["error"]["code"] == "card_limit_exceeded"
    assert r.json["error"]["limit"] == "999999.99" and "offline" in r.json["error"]["message"]
    db.rollback()
    assert db.query(Payment).count() == 0
    assert len(intents_with(gateway, "kind", "balance")) == before  # Stripe never called
    assert big["buyer"].post(url, json={"method": "offline"}).status_code == 201


def test_deposit_above_the_card_limit_is_refused(db, actors, gateway):
    """A deposit of ¥1,000,000 (10% of a ¥10M start) cannot be held on a card: 422, and no
    deposit row is left behind."""
    from market.payments.models import Deposit
    from tests.auction_helpers import make_auction

    inv = actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), start_price="10000000.00",
                             increment="10000.00", deposit="1000000.00")
    r = inv.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "stripe"})
    assert r.status_code == 422 and r.json["error"]["code"] == "card_limit_exceeded"
    db.rollback()
    assert db.query(Deposit).count() == 0
    assert inv.post(f"/api/v1/auctions/{aid}/deposits",
                    json={"method": "offline"}).status_code == 201
