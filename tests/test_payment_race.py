"""Issue 14 item 1: one pending payment per payable at most. Two simultaneous
POST /listings/{id}/payments used to create two pending balance payments for one sale."""
from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from market.db import database
from market.payments.models import Payment
from market.settlement.cli import verify
from market.timeutil import utcnow
from tests.settlement_helpers import make_sale


@pytest.fixture
def sale(db, actors):
    return make_sale(db, actors, parties=("operator",))


def _pending(db, settlement_id: int) -> list[Payment]:
    db.rollback()
    db.expire_all()
    return list(db.scalars(select(Payment).where(Payment.settlement_id == settlement_id,
                                                 Payment.status == "pending")))


def _row(st, buyer_id: int, n: int, status: str = "pending") -> Payment:
    return Payment(listing_id=st.listing_id, settlement_id=st.id, payer_user_id=buyer_id,
                   purpose="balance", amount=st.balance_due, currency="CNY", method="offline",
                   status=status, reference=f"RACE{n}", idempotency_key=f"race:{n}",
                   created_at=utcnow())


def test_the_database_holds_one_pending_payment_per_payable(sale, db):
    st, buyer_id = sale["st"], sale["buyer"].user["id"]
    db.add(_row(st, buyer_id, 1, status="cancelled"))
    db.add(_row(st, buyer_id, 2))
    db.commit()  # a cancelled one beside a pending one is fine
    db.add(_row(st, buyer_id, 3))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    assert len(_pending(db, st.id)) == 1


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_two_simultaneous_requests_make_one_pending_payment(sale, db, app):
    """Both requests read "no pending payment" and then insert: a lock held by the test
    makes both wait at their INSERT, so they truly overlap. One inserts, the other gets
    the same payment back (idempotent); the ledger still verifies."""
    st, buyer = sale["st"], sale["buyer"]
    url = f"/api/v1/listings/{st.listing_id}/payments"
    engine = database(app).engine
    results: list = []

    def pay():
        resp = app.test_client().post(url, json={"method": "offline"}, headers=buyer.headers)
        results.append((resp.status_code, resp.get_json()))

    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE payments IN SHARE MODE"))
        threads = [threading.Thread(target=pay) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while True:  # both are queued on the lock, i.e. both passed the check
            with engine.connect() as c:
                waiting = c.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'payments'::regclass "
                    "AND NOT granted"))
            if waiting >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        blocker.rollback()  # release
    for t in threads:
        t.join(30)
    assert waiting >= 2, "the two requests did not overlap"
    assert [code for code, _ in results] == [201, 201], results
    assert results[0][1]["id"] == results[1][1]["id"]
    assert len(_pending(db, st.id)) == 1
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
    # and it settles once
    op = sale["operator"]
    assert op.post(f"/api/v1/payments/{results[0][1]['id']}/confirm").status_code == 200
    db.rollback()
    assert verify(db) == []
