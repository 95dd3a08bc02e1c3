"""Money meets the loan through two core services: a Sale of plain values (no listing
needed) settles through today's waterfall, and income that is not a sale (licence fees,
royalties) is applied to the claim in 民法典 561 order up to the claim, with no shortfall,
the rest to the owner, once per source; a cleared claim settles the loan and releases
its pledge. `flask ledger verify` holds after each (conftest checks it too)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.errors import Invalid
from market.lending import services as lending
from market.lending.models import Loan, LoanEvent
from market.settlement import ledger
from market.settlement.cli import verify
from market.settlement.models import JournalEntry, Settlement
from market.settlement.recovery import apply_recovery
from market.settlement.sale import Sale, open_sale, settle_sale
from market.timeutil import utcnow
from tests.settlement_helpers import Scenario

D = Decimal
ON = dt.date(2025, 6, 1)


def _claim(db, sc) -> Decimal:
    return lending.claim_on(db, db.get(Loan, sc.loan.id), ON)


def _counts(db) -> tuple[int, int]:
    return (db.scalar(select(func.count()).select_from(JournalEntry)),
            db.scalar(select(func.count()).select_from(LoanEvent)
                      .where(LoanEvent.kind == "recovery")))


def test_partial_income_goes_to_the_claim_in_561_order(db):
    sc = Scenario(db, costs=[("20000.00", dt.date(2025, 4, 1))])
    before = _claim(db, sc)
    got = apply_recovery(db, sc.loan.id, D("15000.00"), ON, source="licence:1:2025-05",
                         actor_id=sc.bank_user.id)
    db.commit()
    assert (got.applied, got.remainder, got.loan_settled) == (D("15000.00"), D("0.00"), False)
    after = _claim(db, sc)
    # Costs first (民法典 561): the other heads are untouched.
    assert after.costs == before.costs - D("15000.00") == D("5000.00")
    assert (after.penalty_interest, after.interest, after.principal) == (
        before.penalty_interest, before.interest, before.principal)
    assert ledger.balance(db, "bank_recovery", sc.bank.id) == D("-15000.00")
    assert ledger.balance(db, "cash") == D("15000.00")
    loan = db.get(Loan, sc.loan.id)
    assert loan.status == "defaulted" and loan.pledge.status == "registered"
    assert verify(db) == []


def test_exactly_the_claim_settles_the_loan_and_releases_the_pledge(db):
    sc = Scenario(db)
    owed = _claim(db, sc).total
    got = apply_recovery(db, sc.loan.id, owed, ON, source="royalty:7:2025")
    db.commit()
    assert (got.applied, got.remainder, got.loan_settled) == (owed, D("0.00"), True)
    loan = db.get(Loan, sc.loan.id)
    assert loan.status == "settled" and loan.settled_on == ON
    assert loan.pledge.status == "released" and loan.pledge.released_on == ON
    assert _claim(db, sc).total == 0
    assert ledger.balance(db, "pledgor_surplus", sc.pledgor.id) == 0
    assert verify(db) == []


def test_more_than_the_claim_leaves_the_rest_to_the_owner_and_no_shortfall(db):
    sc = Scenario(db)
    owed = _claim(db, sc).total
    got = apply_recovery(db, sc.loan.id, owed + D("5000.00"), ON, source="licence:2:final")
    db.commit()
    assert (got.applied, got.remainder, got.loan_settled) == (owed, D("5000.00"), True)
    assert ledger.balance(db, "pledgor_surplus", sc.pledgor.id) == D("-5000.00")
    assert ledger.balance(db, "bank_recovery", sc.bank.id) == -owed
    assert ledger.balance(db, "claim_shortfall") == 0 and ledger.balance(db, "lender_loss") == 0
    assert db.scalar(select(func.sum(LoanEvent.amount)).where(
        LoanEvent.loan_id == sc.loan.id, LoanEvent.kind == "recovery")) == owed
    assert verify(db) == []


def test_the_same_source_is_applied_once(db):
    sc = Scenario(db)
    first = apply_recovery(db, sc.loan.id, D("40000.00"), ON, source="licence:3:2025-Q2")
    db.commit()
    written = _counts(db)
    again = apply_recovery(db, sc.loan.id, D("40000.00"), ON, source="licence:3:2025-Q2")
    db.commit()
    assert again == first
    assert _counts(db) == written
    other = apply_recovery(db, sc.loan.id, D("40000.00"), ON, source="licence:3:2025-Q3")
    db.commit()
    assert other.applied == D("40000.00")
    assert _counts(db) == (written[0] + 1, written[1] + 1)
    assert verify(db) == []


@pytest.mark.parametrize("amount,source,code", [
    (D("0.00"), "licence:4", "invalid_amount"),
    (D("-1.00"), "licence:4", "invalid_amount"),
    (D("1.001"), "licence:4", "invalid_amount"),
    (D("10.00"), "", "invalid_source"),
    (D("10.00"), "x" * 61, "invalid_source"),
])
def test_bad_input_is_refused_and_writes_nothing(db, amount, source, code):
    sc = Scenario(db)
    db.commit()
    written = _counts(db)
    with pytest.raises(Invalid) as err:
        apply_recovery(db, sc.loan.id, amount, ON, source=source)
    assert err.value.code == code
    db.rollback()
    assert _counts(db) == written


def test_a_sale_without_a_listing_settles_through_the_waterfall(db):
    """An agreed valuation (协议折价) is a sale no listing made: the same waterfall."""
    sc = Scenario(db)
    sale = Sale(mode="agreed_valuation", source_id=sc.loan.id, listing_id=None,
                seller_org_id=sc.bank.id, pledgor_org_id=sc.pledgor.id,
                buyer_org_id=sc.bank.id, loan_id=sc.loan.id, price=D("2000000.00"), as_of=ON,
                asset_ids=(1, 2), balance_due_by=utcnow() + dt.timedelta(days=10))
    st = open_sale(db, sale)
    assert open_sale(db, sale).id == st.id  # idempotent on its ref
    assert st.sale_ref == "agreed_valuation:%d" % sc.loan.id and st.listing_id is None
    assert settle_sale(db, st.id, paid_at=utcnow()) is True
    assert settle_sale(db, st.id, paid_at=utcnow()) is False
    db.commit()
    st = db.get(Settlement, st.id)
    assert st.status == "settled"
    assert db.get(Loan, sc.loan.id).status == "settled"
    assert verify(db) == []
