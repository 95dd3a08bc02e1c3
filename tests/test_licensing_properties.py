"""Property (API.md "Licensing"): for any sequence of licence payments on a pledged listing,
the loan's claim equals the claim computed with those payments (less commission) as
recoveries dated their business dates, capped at the claim; and nothing is applied twice,
however often a payment is confirmed or its paid-hook replayed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from listings import rules
from listings.models import Listing
from listings.modes import licensing
from listings.modes.licensing_models import Licence
from market import timeutil
from market.errors import Conflict
from market.lending import services as lending
from market.lending.claims import allocate, claim_as_of
from market.lending.models import Loan, LoanEvent
from market.money import ZERO
from market.payments import services as payments
from market.settlement.cli import verify
from market.settlement.services import seller_commission
from market.timeutil import utcnow
from tests.settlement_helpers import loan, org, user

D = Decimal
COMMISSION = D("0.01")  # the default seller_commission_rate


@dataclass
class Ev:
    kind: str
    amount: Decimal
    on_date: dt.date


def _licence(db, listing_id, licensor, licensee, applicant, fee) -> Licence:
    now = utcnow()
    lic = Licence(listing_id=listing_id, licensor_org_id=licensor.id,
                  licensee_org_id=licensee.id, applicant_user_id=applicant.id, kind="non_exclusive",
                  open=True, field="", territory="CN", term_months=12, upfront_fee=fee,
                  royalty_rate=D("0"), minimum_annual_royalty=D("0.00"), currency="CNY",
                  status="awaiting_payment", pay_by=now + dt.timedelta(days=10),
                  paid_total=ZERO, commission_total=ZERO, applied_to_loan=ZERO,
                  paid_to_owner=ZERO, created_at=now, updated_at=now)
    return lic


fees = st.decimals(min_value=D("0.01"), max_value=D("2000000.00"), places=2)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(fees, st.integers(min_value=0, max_value=40)),
                      min_size=1, max_size=4),
       principal=st.sampled_from(["50000.00", "800000.00", "3000000.00"]))
def test_licence_payments_are_recoveries_applied_once(db, steps, principal):
    bank, owner, licensee = org(db, "bank"), org(db, "enterprise"), org(db, "investor")
    bank_user, payer = user(db, bank, "bank"), user(db, licensee, "investor")
    operator = user(db, org(db, "exchange"), "operator")
    ln = loan(db, bank, owner, principal=principal)
    listing = Listing(title="许可 licence", mode="licensing", status="published",
                      seller_org_id=bank.id, created_by=bank_user.id, loan_id=ln.id,
                      created_at=utcnow(), updated_at=utcnow())
    db.add(listing)
    db.flush()
    base = [Ev(e.kind, e.amount, e.on_date) for e in lending.events_of(db, ln.id)]
    expected = list(base)
    applied_total = ZERO
    for fee, days in steps:
        timeutil.advance(dt.timedelta(days=days))
        on = rules.market_date(utcnow())
        lic = _licence(db, listing.id, owner, licensee, payer, fee)
        db.add(lic)
        db.flush()
        p = payments.start_payable_payment(
            db, listing_id=listing.id, purpose="licence", payable_id=lic.id, amount=fee,
            currency="CNY", user=payer, method="offline", due_by=lic.pay_by)
        payments.confirm_offline(db, p.id, actor_id=operator.id)
        # Replays: a second confirm is refused; the hook fired again does nothing.
        try:
            payments.confirm_offline(db, p.id, actor_id=operator.id)
            raise AssertionError("a second confirm must be refused")
        except Conflict:
            pass
        licensing.on_payment_paid(db, p, utcnow(), None)
        db.commit()
        # The model: fee less commission applied on `on` in 561 order, up to the claim.
        rest = fee - seller_commission(fee, COMMISSION)
        owed = claim_as_of(db.get(Loan, ln.id), expected, on)
        applied, _left = allocate(owed, rest)
        if applied.total > 0:
            expected.append(Ev("recovery", applied.total, on))
        applied_total += applied.total
        db.refresh(lic)
        assert lic.status == "active" and lic.paid_total == fee
        assert lic.applied_to_loan == applied.total
        assert lic.commission_total + lic.applied_to_loan + lic.paid_to_owner == fee
    last = rules.market_date(utcnow())
    db.expire_all()
    loan_row = db.get(Loan, ln.id)
    assert lending.claim_on(db, loan_row, last) == claim_as_of(loan_row, expected, last)
    recoveries = db.scalar(select(func.count()).select_from(LoanEvent).where(
        LoanEvent.loan_id == ln.id, LoanEvent.kind == "recovery"))
    assert recoveries == len(expected) - len(base)
    assert sum((lc.applied_to_loan for lc in db.scalars(
        select(Licence).where(Licence.listing_id == listing.id))), ZERO) == applied_total
    assert (loan_row.status == "settled") == (claim_as_of(loan_row, expected, last).total == 0)
    assert verify(db) == []
