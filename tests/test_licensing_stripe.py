"""A licence fee paid by card, against a real localstripe server: the webhook activates the
licence and pays down the claim once (a duplicate delivery changes nothing); a lost
webhook is made good by the scheduler's reconciliation."""
from __future__ import annotations

import time

import pytest

from market.payments.models import Payment, StripeEvent
from market.settlement.models import JournalEntry
from tests.contract_helpers import API, D, World, expect, market_today, money
from tests.stripe_fixtures import sign_webhook
from tests.test_contract_licensing import FEE, bank_open_licence, licence

WEBHOOK = "/api/v1/stripe/webhook"


@pytest.fixture
def app_config(app_config, stripe_config):
    return {**app_config, **stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _take_and_pay_by_card(world):
    _a, ln, lst = bank_open_licence(world)
    lic = expect(world.investor.post(f"{API}/listings/{lst['id']}/licences", json={}), 201)
    pay = expect(world.investor.post(f"{API}/licences/{lic['id']}/payments",
                                     json={"method": "stripe"}), 201)
    assert pay["status"] == "pending" and money(pay["amount"]) == D(FEE) and pay["client_secret"]
    again = expect(world.investor.post(f"{API}/licences/{lic['id']}/payments",
                                       json={"method": "stripe"}), 201)
    assert again["id"] == pay["id"]  # one intent per payment
    return ln, lic, pay


def test_licence_fee_by_card_activates_on_webhook_once(world, client, db):
    ln, lic, pay = _take_and_pay_by_card(world)
    before = money(world.claim(ln["id"], market_today())["total"])
    p = db.get(Payment, pay["id"])
    assert p.purpose == "licence" and p.payable_id == lic["id"] and p.settlement_id is None
    obj = {"id": p.provider_ref, "object": "payment_intent", "status": "succeeded",
           "metadata": {"kind": "licence"}}
    payload = {"id": "evt_lic_1", "object": "event", "type": "payment_intent.succeeded",
               "api_version": "2024-06-20", "created": int(time.time()),
               "data": {"object": obj}}
    body, headers = sign_webhook(payload)
    r = client.post(WEBHOOK, data=body, headers=headers)
    assert r.status_code == 200 and r.json["result"] == "paid", r.json
    got = licence(world, world.investor, lic["id"])
    assert got["status"] == "active" and got["starts_on"] == market_today().isoformat()
    fee_less_commission = D(FEE) - D(FEE) * D("0.01")
    assert before - money(world.claim(ln["id"], market_today())["total"]) == fee_less_commission
    body, headers = sign_webhook(payload)
    r = client.post(WEBHOOK, data=body, headers=headers)
    assert r.status_code == 200 and r.json.get("duplicate") is True
    db.rollback()
    db.expire_all()
    assert db.query(StripeEvent).count() == 1
    assert db.query(JournalEntry).filter(
        JournalEntry.idempotency_key.like(f"%licence:{lic['id']}:%")).count() == 1
    assert money(licence(world, world.investor, lic["id"])["paid_total"]) == D(FEE)


def test_lost_licence_webhook_is_reconciled_by_the_scheduler(world, db):
    ln, lic, pay = _take_and_pay_by_card(world)
    world.run_once()
    got = licence(world, world.investor, lic["id"])
    assert got["status"] == "active"
    assert money(got["applied_to_loan"]) == D(FEE) - D(FEE) * D("0.01")
    world.run_once()  # nothing twice
    assert money(licence(world, world.investor, lic["id"])["paid_total"]) == D(FEE)
    db.rollback()
    assert db.get(Payment, pay["id"]).status == "paid"
