"""Settlement exactly once, whatever crashes: a scheduler process killed in the middle of
settling a paid sale leaves nothing of it (one transaction: no ledger line, no recovery on
the loan, the sale still awaiting payment) and the next sweep finishes it, once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from market.lending.models import LoanEvent
from market.payments.models import Payment
from market.settlement.cli import verify
from market.settlement.models import JournalEntry, Settlement
from tests.settlement_helpers import make_sale

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs the real scheduler sweep; a handler of the settlement.settled hook kills the process
# with SIGKILL after every write of the settlement was issued and before the COMMIT.
KILLED_SWEEP = """
import os, signal
from market import hooks
from market.app import create_app
from market.scheduler import run_once

app = create_app()
hooks.register("settlement.settled", lambda session, st: os.kill(os.getpid(), signal.SIGKILL))
with app.app_context():
    run_once(app)
"""


@pytest.fixture
def app_config(app_config, stripe_config):
    return {**app_config, **stripe_config, "STRIPE_PAYMENT_METHOD": "pm_card_visa"}


def _entries(db, settlement_id: int) -> int:
    return db.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.ref_type == "settlement", JournalEntry.ref_id == settlement_id))


def test_killed_settlement_leaves_nothing_and_the_next_sweep_finishes_it(db, actors, app,
                                                                          app_config):
    # A balance a card can carry (Stripe takes at most ¥999,999.99 in one charge).
    sale = make_sale(db, actors, parties=(), price="900000.00", deposit="90000.00")
    st_id = sale["st"].id
    r = sale["buyer"].post(f"/api/v1/listings/{sale['sc'].listing_id}/payments",
                           json={"method": "stripe"})
    assert r.status_code == 201, r.json  # paid by card at Stripe; no webhook comes

    env = {**os.environ, "DATABASE_URL": app_config["DATABASE_URL"], "SECRET_KEY": "t",
           "STRIPE_SECRET_KEY": app_config["STRIPE_SECRET_KEY"],
           "STRIPE_WEBHOOK_SECRET": app_config["STRIPE_WEBHOOK_SECRET"],
           "STRIPE_API_BASE": app_config["STRIPE_API_BASE"]}
    proc = subprocess.run([sys.executable, "-c", KILLED_SWEEP], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]

    db.rollback()
    db.expire_all()
    assert db.get(Settlement, st_id).status == "awaiting_payment"
    assert _entries(db, st_id) == 0
    assert db.scalar(select(func.count()).select_from(LoanEvent).where(
        LoanEvent.settlement_id == st_id)) == 0
    assert verify(db) == []

    from market.scheduler import run_once

    with app.app_context():
        assert run_once(app) >= 1
    db.rollback()
    db.expire_all()
    assert db.get(Settlement, st_id).status == "settled"
    assert db.get(Payment, r.json["id"]).status == "paid"
    posted = _entries(db, st_id)
    assert posted > 0
    with app.app_context():
        run_once(app)
    db.rollback()
    assert _entries(db, st_id) == posted  # settled once: a later sweep adds nothing
    assert verify(db) == []
