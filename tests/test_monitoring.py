"""Monitoring flags (DOMAIN.md "Value and status over time"; 民法典 433 for LTV)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from market.assets.models import Asset
from market.db import database
from market.lending.models import BankProfile, LoanFlag
from market.lending.monitoring import run_monitoring
from tests.lending_helpers import book, make_loan


def _flags(db, loan_id, open_only=True):
    db.rollback()
    stmt = select(LoanFlag).where(LoanFlag.loan_id == loan_id)
    if open_only:
        stmt = stmt.where(LoanFlag.cleared_at.is_(None))
    return sorted((f.kind, f.asset_id) for f in db.scalars(stmt))


def _run(app, day):
    with app.app_context():
        return run_monitoring(database(app), "Asia/Shanghai", today=day)


def test_overdue_raised_once_and_listed_on_the_loan(app, actors, db):
    """A performing loan past maturity is flagged overdue (a flag, not a status)."""
    b = book(actors)  # valuation 5,000,000 from 2024-01-15, valid a year
    loan = make_loan(b)
    assert _run(app, dt.date(2024, 6, 1)) == 0
    assert _flags(db, loan["id"]) == []
    day = dt.date(2025, 3, 2)
    assert _run(app, day) > 0
    kinds = [k for k, _ in _flags(db, loan["id"])]
    assert "overdue" in kinds and "valuation_expired" in kinds
    assert _run(app, day) == 0  # raised once
    got = b.bank.get(f"/api/v1/loans/{loan['id']}").get_json()
    assert got["status"] == "performing"
    assert {f["kind"] for f in got["flags"]} >= {"overdue", "valuation_expired"}
    assert all(f["raised_at"] and "detail" in f for f in got["flags"])


def test_ltv_threshold_from_settings_and_bank_profile(app, actors, db):
    """民法典 433: flag loans whose loan-to-value crosses the bank's threshold."""
    b = book(actors)  # asset worth 5,000,000; loan 3,000,000 → LTV 0.6
    loan = make_loan(b)
    day = dt.date(2024, 6, 1)
    _run(app, day)
    assert ("ltv", None) not in _flags(db, loan["id"])  # default threshold 0.70
    db.add(BankProfile(org_id=b.bank.user["org_id"], ltv_threshold=Decimal("0.5")))
    db.commit()
    _run(app, day)
    assert ("ltv", None) in _flags(db, loan["id"])
    # a new, higher appraisal clears it
    b.bank.post(f"/api/v1/assets/{b.assets[0]['id']}/valuations",
                json={"amount": "8000000.00", "valued_on": "2024-05-20", "method": "market",
                      "agency": "中联"})
    _run(app, day)
    assert ("ltv", None) not in _flags(db, loan["id"])
    assert ("ltv", None) in _flags(db, loan["id"], open_only=False)


def test_asset_status_and_annuity_flags_clear_when_fixed(app, actors, db):
    """专利法: a pledged patent lapsing for an unpaid annuity is a loss to see before it happens."""
    b = book(actors)
    loan = make_loan(b)
    aid = b.assets[0]["id"]
    asset = db.get(Asset, aid)
    asset.next_fee_due_on = dt.date(2024, 7, 1)
    asset.legal_status = "lapsed"
    db.commit()
    day = dt.date(2024, 6, 1)  # 30 days before: inside the 60-day default window
    _run(app, day)
    assert _flags(db, loan["id"]) == [("annuity_due", aid), ("asset_not_in_force", aid)]
    asset = db.get(Asset, aid)
    asset.next_fee_due_on = dt.date(2025, 7, 1)
    asset.legal_status = "valid"
    db.commit()
    assert _run(app, day) == 2
    assert _flags(db, loan["id"]) == []


def test_released_pledge_clears_flags(app, actors, db):
    b = book(actors)
    loan = make_loan(b, principal="100.00", annual_rate="0", penalty_rate="0")
    _run(app, dt.date(2025, 4, 1))
    assert _flags(db, loan["id"])
    b.bank.post(f"/api/v1/loans/{loan['id']}/repayments",
                json={"amount": "100.00", "paid_on": "2025-04-01"})
    _run(app, dt.date(2025, 4, 1))
    assert _flags(db, loan["id"]) == []


def test_job_is_registered(app):
    from market.scheduler import jobs
    assert "lending.monitor" in {j.id for j in jobs(app)}


def test_flags_read_in_chinese_on_the_pages(app, actors, db, client):
    """Flags are shown in the reader's language (zh by default)."""
    b = book(actors)
    loan = make_loan(b)
    _run(app, dt.date(2025, 3, 2))
    actors.login(client, b.bank.user)
    page = client.get(f"/loans/{loan['id']}", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert "债权尚未清偿" in html and "没有有效的评估报告" in html
    dash = client.get("/dashboard", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "债权尚未清偿" in dash
