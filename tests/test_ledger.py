"""The double-entry, append-only journal (DOMAIN.md Settlement: every movement is a
balanced ledger entry)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from market.settlement import ledger
from market.settlement.models import JournalEntry, JournalLine
from market.timeutil import utcnow
from tests.settlement_helpers import Scenario, org

D = Decimal


def test_unbalanced_entry_refused(db):
    with pytest.raises(ledger.UnbalancedEntry):
        ledger.post(db, "test", "test", 1, "t:1",
                    [("cash", None, D("10.00"), D("0"), ""),
                     ("buyer_funds", None, D("0"), D("9.99"), "")])
    with pytest.raises(ledger.UnbalancedEntry):
        ledger.post(db, "test", "test", 1, "t:2", [("cash", None, D("0"), D("0"), "")])
    with pytest.raises(ValueError):
        ledger.post(db, "test", "test", 1, "t:3", [("nowhere", None, D("1"), D("0"), ""),
                                                    ("cash", None, D("0"), D("1"), "")])
    with pytest.raises(ValueError):
        ledger.post(db, "test", "test", 1, "t:4", [("cash", None, D("-1"), D("0"), ""),
                                                    ("cash", None, D("0"), D("-1"), "")])
    db.flush()
    assert db.query(JournalEntry).count() == 0


def test_post_is_exactly_once_per_key(db):
    lines = [("cash", None, D("100.00"), D("0"), ""), ("buyer_funds", None, D("0"), D("100.00"), "")]
    a = ledger.post(db, "test", "test", 1, "t:once", lines)
    b = ledger.post(db, "test", "test", 1, "t:once", lines)
    db.commit()
    assert a.id == b.id
    assert db.query(JournalEntry).count() == 1 and db.query(JournalLine).count() == 2
    assert ledger.balance(db, "cash") == D("100.00")


def test_deposit_movements(db):
    """法释〔2016〕18号: deposits held, released to losers, forfeited by a defaulting winner."""
    bidder = org(db, "investor")
    ledger.record_deposit_held(db, 1, D("50000.00"), bidder.id)
    ledger.record_deposit_held(db, 2, D("50000.00"), bidder.id)
    ledger.record_deposit_held(db, 2, D("50000.00"), bidder.id)  # retried: once
    ledger.record_deposit_released(db, 1, D("50000.00"), bidder.id)
    ledger.record_deposit_forfeited(db, 2, D("50000.00"), bidder.id)
    db.commit()
    assert ledger.balance(db, "deposits_held", bidder.id) == 0
    assert ledger.balance(db, "cash") == D("50000.00")
    assert ledger.balance(db, "forfeited_deposits", bidder.id) == D("-50000.00")
    assert db.query(JournalEntry).count() == 4


@pytest.mark.ledger_broken
def test_ledger_verify_passes_and_catches_mismatch(db, runner, app):
    """`flask ledger verify` proves the journal balances and matches settled sales."""
    from market.settlement import services

    sc = Scenario(db, risk_shares=[("0.5", None)])
    st = sc.open_sale("2000000.00", deposit="100000.00")
    ledger.record_deposit_held(db, 7, D("100000.00"), sc.buyer_org.id)
    services.settle(db, st.id, paid_at=utcnow())
    db.commit()
    ok = runner.invoke(args=["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    # A settled sale whose entries disagree with its figures (lines slipped in behind the
    # ledger's back — the journal is append-only, so by INSERT) is caught, even balanced.
    entry = ledger.find(db, f"settlement:{st.id}:shortfall")
    db.add_all([JournalLine(entry_id=entry.id, account="lender_loss", org_id=sc.bank.id,
                            debit=D("1.00"), credit=D("0")),
                JournalLine(entry_id=entry.id, account="claim_shortfall", org_id=sc.bank.id,
                            debit=D("0"), credit=D("1.00"))])
    db.commit()
    bad = runner.invoke(args=["ledger", "verify"])
    assert bad.exit_code == 1
    assert f"settlement {st.id}: entry settlement:{st.id}:shortfall does not match" in bad.output
    # and an unbalanced entry
    db.add(JournalEntry(at=utcnow(), kind="x", ref_type="x", ref_id=1, memo="",
                        idempotency_key="x:1",
                        lines=[JournalLine(account="cash", debit=D("5.00"), credit=D("0"))]))
    db.commit()
    bad = runner.invoke(args=["ledger", "verify"])
    assert bad.exit_code == 1 and "debit 5.00 ≠ credit 0.00" in bad.output
