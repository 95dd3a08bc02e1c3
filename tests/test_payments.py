"""Payment of the balance and the settlement API (API.md "Payment of the price and
settlement")."""
from __future__ import annotations

import datetime as dt
import os
import threading
from decimal import Decimal

import pytest

from market.audit import AuditRecord
from market.db import database
from market.lending.models import Loan
from market.payments.models import Payment
from market.settlement import ledger
from market.settlement.cli import verify
from market.settlement.models import JournalEntry, Settlement
from market.timeutil import utcnow
from tests.settlement_helpers import make_sale

D = Decimal


@pytest.fixture
def sale(db, actors):
    return make_sale(db, actors)


def test_settlement_figures_exactly_as_the_contract(sale):
    """API.md: GET /listings/{id}/settlement → the sale's figures from the close on."""
    sc, st = sale["sc"], sale["st"]
    r = sale["bank"].get(f"/api/v1/listings/{sc.listing_id}/settlement")
    assert r.status_code == 200, r.json
    body = r.json
    for key in ("status", "price", "buyer_premium", "seller_commission", "disposal_costs",
                "net_proceeds", "applied", "surplus_to_pledgor", "shortfall", "risk_shares",
                "lender_loss", "as_of", "balance_due", "balance_due_by"):
        assert key in body
    assert body["status"] == "awaiting_payment"
    assert body["price"] == "2000000.00" and body["seller_commission"] == "20000.00"
    assert body["buyer_premium"] == "0.00" and body["disposal_costs"] == "30000.00"
    assert body["net_proceeds"] == "1950000.00"
    assert body["applied"] == {"costs": "20000.00", "penalty_interest": "50025.00",
                               "interest": "132312.50", "principal": "1747662.50"}
    assert body["surplus_to_pledgor"] == "0.00" and body["shortfall"] == "1252337.50"
    assert body["risk_shares"] == [{"org_id": sc.parties[0].id, "amount": "500935.00"},
                                   {"org_id": sc.parties[1].id, "amount": "200000.00"}]
    assert body["lender_loss"] == "551402.50"
    assert body["as_of"] == "2025-06-01" and body["balance_due"] == "1800000.00"
    assert body["balance_due_by"].endswith("+00:00")
    assert sale["pledgor"].get(f"/api/v1/listings/{sc.listing_id}/settlement").status_code == 200
    assert sale["operator"].get(f"/api/v1/listings/{sc.listing_id}/settlement").status_code == 200


def test_settlement_hidden_from_others(sale, client):
    """API.md: the listing's bank, its pledgor, operators; others 404; no token 401."""
    lid = sale["sc"].listing_id
    assert sale["other"].get(f"/api/v1/listings/{lid}/settlement").status_code == 404
    assert sale["other_bank"].get(f"/api/v1/listings/{lid}/settlement").status_code == 404
    assert sale["buyer"].get(f"/api/v1/listings/{lid}/settlement").status_code == 404
    assert sale["bank"].get("/api/v1/listings/999999999/settlement").status_code == 404
    assert client.get(f"/api/v1/listings/{lid}/settlement").status_code == 401


def test_offline_payment_confirm_settles_once(sale, db, runner):
    """API.md: POST /listings/{id}/payments → 201 pending; operator confirm → 200 paid and
    the sale settles in the same transaction; a second confirm → 409."""
    sc, st = sale["sc"], sale["st"]
    r = sale["buyer"].post(f"/api/v1/listings/{sc.listing_id}/payments",
                           json={"method": "offline"})
    assert r.status_code == 201, r.json
    pay = r.json
    assert pay["status"] == "pending" and pay["amount"] == "1800000.00" and pay["reference"]
    # asking again returns the same pending payment
    again = sale["buyer"].post(f"/api/v1/listings/{sc.listing_id}/payments",
                               json={"method": "offline"})
    assert again.status_code == 201 and again.json["id"] == pay["id"]

    r = sale["operator"].post(f"/api/v1/payments/{pay['id']}/confirm")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "paid"
    r2 = sale["operator"].post(f"/api/v1/payments/{pay['id']}/confirm")
    assert r2.status_code == 409 and r2.json["error"]["code"] == "payment_not_pending"

    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.get(Settlement, st.id).status == "settled"
    loan = db.get(Loan, sc.loan.id)
    assert loan.status == "settled" and loan.pledge.status == "enforced"
    body = sale["bank"].get(f"/api/v1/listings/{sc.listing_id}/settlement").json
    assert body["status"] == "settled"
    assert db.query(JournalEntry).filter_by(ref_type="settlement").count() == 3
    assert db.query(AuditRecord).filter_by(action="payment.confirm").count() == 1
    assert db.query(AuditRecord).filter_by(action="settlement.settled").count() == 1
    claim = sale["bank"].get(f"/api/v1/loans/{sc.loan.id}/claim?as_of=2025-06-01")
    if claim.status_code == 200:
        assert claim.json["total"] == "1252337.50"
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_payment_refusals(sale, db):
    """API.md order: 401 → 403 → 422 → 404 → 409."""
    lid = sale["sc"].listing_id
    url = f"/api/v1/listings/{lid}/payments"
    assert sale["buyer"].client.post(url, json={"method": "offline"}).status_code == 401
    assert sale["bank"].post(url, json={"method": "offline"}).status_code == 403
    r = sale["buyer"].post(url, json={"method": "cheque"})
    assert r.status_code == 422
    assert sale["buyer"].post(url, json={"method": "offline", "x": 1}).status_code == 422
    r = sale["buyer"].post(url, json={"method": "stripe"})  # Stripe not configured
    assert r.status_code == 422 and r.json["error"]["code"] == "method_unavailable"
    assert sale["buyer"].post("/api/v1/listings/999999999/payments",
                              json={"method": "offline"}).status_code == 404
    r = sale["other"].post(url, json={"method": "offline"})
    assert r.status_code == 403 and r.json["error"]["code"] == "not_winner"
    assert sale["operator"].post("/api/v1/payments/999999999/confirm").status_code == 404
    assert sale["buyer"].post("/api/v1/payments/1/confirm").status_code == 403
    assert db.query(Payment).count() == 0


def test_unpaid_sale_defaults_after_deadline(sale, db, app):
    """Winner default (悔拍, 法释〔2016〕18号): the balance deadline passes unpaid →
    the sale is defaulted (the auctions package forfeits the deposit on the hook)."""
    from market import hooks
    from market.scheduler import run_once

    st = sale["st"]
    r = sale["buyer"].post(f"/api/v1/listings/{sale['sc'].listing_id}/payments",
                           json={"method": "offline"})
    pid = r.json["id"]
    db.get(Settlement, st.id).balance_due_by = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    seen = []
    handler = lambda session, s: seen.append(s.id)  # noqa: E731
    with hooks.registered("settlement.defaulted", handler):
        with app.app_context():
            run_once(app)
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.get(Settlement, st.id).status == "defaulted"
    assert db.get(Payment, pid).status == "cancelled"
    assert seen == [st.id]
    r = sale["operator"].post(f"/api/v1/payments/{pid}/confirm")
    assert r.status_code == 409
    assert ledger.entries_for(db, "settlement", st.id) == []


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_two_operators_race_to_confirm(sale, db, app):
    """A settlement happens once, whatever races (DOMAIN.md Settlement): two sessions
    confirm the same payment at once — one settles, the other gets 409."""
    r = sale["buyer"].post(f"/api/v1/listings/{sale['sc'].listing_id}/payments",
                           json={"method": "offline"})
    pid = r.json["id"]
    op = sale["operator"]
    barrier = threading.Barrier(2)
    results = []

    def confirm():
        c = app.test_client()
        barrier.wait()
        results.append(c.post(f"/api/v1/payments/{pid}/confirm", json={},
                              headers=op.headers).status_code)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.query(JournalEntry).filter_by(ref_type="settlement").count() == 3
    assert db.query(AuditRecord).filter_by(action="settlement.settled").count() == 1
    assert verify(db) == []


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_two_sessions_race_to_settle(sale, db, app):
    """The conditional UPDATE is the claim: two transactions settle at once, one wins."""
    from market.settlement import services

    st_id = sale["st"].id
    barrier = threading.Barrier(2)
    won = []

    def go():
        with app.app_context(), database(app).transaction() as s:
            barrier.wait()
            won.append(services.settle(s, st_id, paid_at=utcnow()))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False, True]
    db.rollback(); db.expire_all()  # a fresh snapshot: see what the requests committed
    assert db.query(JournalEntry).filter_by(ref_type="settlement").count() == 3
    assert verify(db) == []


def test_backstop_buyer_org_pays(db, actors, runner):
    """托底式收购 (DOMAIN.md): a fund that committed to buy at a floor pays as an
    organisation; any of its investor users may pay the balance."""
    from market.settlement import services
    from tests.settlement_helpers import Scenario

    sc = Scenario(db)
    db.commit()
    fund_user = actors.api("investor", org=sc.parties[0].name, org_kind="fund")
    st = services.open_sale(db, listing_id=sc.listing_id, sale_ref="test:backstop",
                            loan_id=sc.loan.id, seller_org_id=sc.bank.id, pledgor_org_id=None,
                            buyer_user_id=None, buyer_org_id=sc.parties[0].id,
                            price=D("2500000.00"), deposit_applied=D("0"),
                            disposal_costs=D("0"), as_of=dt.date(2025, 6, 1),
                            balance_due_by=utcnow() + dt.timedelta(days=10))
    db.commit()
    assert st.pledgor_org_id == sc.pledgor.id  # taken from the loan
    r = fund_user.post(f"/api/v1/listings/{sc.listing_id}/payments", json={"method": "offline"})
    assert r.status_code == 201 and r.json["amount"] == "2500000.00"
    op = actors.api("operator")
    assert op.post(f"/api/v1/payments/{r.json['id']}/confirm").status_code == 200
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
