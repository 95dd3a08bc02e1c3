"""The claim computation (API.md "How the claim is computed (normative)")."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace as Row

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.lending.claims import Claim, allocate, claim_as_of, compute_claim

D = Decimal


def loan(principal="3000000.00", annual="0.0435", penalty="0.06525", start=dt.date(2024, 3, 1),
         maturity=dt.date(2025, 3, 1), defaulted=None):
    return Row(principal=D(principal), annual_rate=D(annual), penalty_rate=D(penalty),
               disbursed_on=start, maturity_on=maturity, defaulted_on=defaulted)


def ev(kind, amount, on, id_=0):
    return Row(kind=kind, amount=D(amount), on_date=on, id=id_)


def test_worked_example():
    """API.md worked example: 3,000,000.00 at 4.35% for 2024-03-01..2025-03-01 is
    132,312.50; then penalty at 6.525% adds 543.75 a day."""
    ln = loan()
    c = claim_as_of(ln, [], dt.date(2025, 3, 1))
    assert c == Claim(D("0.00"), D("0.00"), D("132312.50"), D("3000000.00"))
    c = claim_as_of(ln, [], dt.date(2025, 3, 11))
    assert c.penalty_interest == D("5437.50") and c.interest == D("132312.50")
    assert c.total == D("3137750.00")


def test_as_of_day_itself_does_not_accrue():
    """Interest accrues for each day in [disbursed_on, as_of)."""
    ln = loan()
    assert claim_as_of(ln, [], dt.date(2024, 3, 1)).interest == D("0.00")
    assert claim_as_of(ln, [], dt.date(2024, 3, 2)).interest == D("362.50")
    assert claim_as_of(ln, [], dt.date(2024, 2, 1)).total == D("0.00")  # not yet disbursed


def test_rounding_happens_only_at_payment_dates():
    """Sum first, divide by 360 last, round half-up at a payment date or as_of."""
    # 1,000.00 at 1% a year: 1000 × 0.01 / 360 = 0.02777… a day
    ln = loan("1000.00", "0.01", "0.02", dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    # 10 days exact: 0.2777… → 0.28 (not 10 × 0.03)
    assert claim_as_of(ln, [], dt.date(2024, 1, 11)).interest == D("0.28")
    # a payment on day 5 rounds then (0.1388… → 0.14), then 5 more days (0.1388… → 0.14)
    pay = [ev("repayment", "0.14", dt.date(2024, 1, 6))]
    assert claim_as_of(ln, pay, dt.date(2024, 1, 11)).interest == D("0.14")


def test_561_order_and_costs_from_their_date():
    """民法典 561: costs → penalty interest → interest → principal; no interest on costs."""
    ln = loan(defaulted=dt.date(2024, 9, 1))
    events = [ev("cost", "20000.00", dt.date(2024, 9, 10), 1),
              ev("repayment", "30000.00", dt.date(2024, 9, 11), 2)]
    before = claim_as_of(ln, events[:1], dt.date(2024, 9, 11))
    # 184 days at 4.35% = 66,700.00; 10 penalty days × 543.75 = 5,437.50
    assert before == Claim(D("20000.00"), D("5437.50"), D("66700.00"), D("3000000.00"))
    assert claim_as_of(ln, events[:1], dt.date(2024, 9, 9)).costs == D("0.00")
    after = claim_as_of(ln, events, dt.date(2024, 9, 11))
    assert after == Claim(D("0.00"), D("0.00"), D("62137.50"), D("3000000.00"))
    # costs accrue nothing
    assert claim_as_of(ln, events, dt.date(2024, 9, 12)).penalty_interest == D("543.75")


def test_same_day_cost_is_owed_before_that_days_payment():
    ln = loan("1000.00", "0", "0")
    events = [ev("repayment", "100.00", dt.date(2024, 5, 1), 1),
              ev("cost", "100.00", dt.date(2024, 5, 1), 2)]
    assert claim_as_of(ln, events, dt.date(2024, 5, 1)) == Claim(principal=D("1000.00"))


def test_late_default_does_not_move_the_penalty_date():
    ln = loan(defaulted=dt.date(2025, 6, 1))
    assert claim_as_of(ln, [], dt.date(2025, 3, 2)).penalty_interest == D("543.75")


def test_principal_repayment_reduces_accrual_from_that_day():
    ln = loan("360000.00", "0.10", "0.20", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    # 10 days on 360,000 at 10% = 1,000.00; paying 101,000 leaves 260,000 (100/day × 0.1×…)
    events = [ev("repayment", "101000.00", dt.date(2024, 1, 11))]
    c = claim_as_of(ln, events, dt.date(2024, 1, 21))
    assert c.principal == D("260000.00") and c.interest == D("722.22")


def test_allocate():
    claim = Claim(D("10.00"), D("20.00"), D("30.00"), D("40.00"))
    applied, rest = allocate(claim, D("45.00"))
    assert applied == Claim(D("10.00"), D("20.00"), D("15.00"), D("0.00")) and rest == 0
    applied, rest = allocate(claim, D("150.00"))
    assert applied == claim and rest == D("50.00")
    assert allocate(claim, D("0"))[0].total == 0
    with pytest.raises(ValueError):
        allocate(claim, D("-1"))


# --- property: equals a plain day-by-day reading of the rules ---------------------------

def reference_claim(ln, events, as_of):
    """The rules read literally: walk every day, apply that day's events, then accrue it."""
    q = lambda x: x.quantize(D("0.01"), rounding=ROUND_HALF_UP)  # noqa: E731
    pen_from = ln.maturity_on
    if ln.defaulted_on and ln.defaulted_on < ln.maturity_on:
        pen_from = ln.defaulted_on
    principal = ln.principal if as_of >= ln.disbursed_on else D("0.00")
    costs = pen = interest = D("0.00")
    acc_i = acc_p = D(0)
    by_day: dict = {}
    for e in events:
        if e.on_date <= as_of:
            by_day.setdefault(e.on_date, []).append(e)
    first = min([ln.disbursed_on, *by_day.keys()])
    day = first
    while day <= as_of:
        todays = sorted(by_day.get(day, []), key=lambda e: (e.kind != "cost", e.id))
        for e in todays:
            if e.kind == "cost":
                costs += e.amount
                continue
            interest += q(acc_i / 360)
            pen += q(acc_p / 360)
            acc_i = acc_p = D(0)
            left = e.amount
            for name in ("costs", "pen", "interest", "principal"):
                owed = {"costs": costs, "pen": pen, "interest": interest,
                        "principal": principal}[name]
                take = min(owed, left)
                left -= take
                if name == "costs":
                    costs -= take
                elif name == "pen":
                    pen -= take
                elif name == "interest":
                    interest -= take
                else:
                    principal -= take
        if day < as_of and day >= ln.disbursed_on:
            if day < pen_from:
                acc_i += principal * ln.annual_rate
            else:
                acc_p += principal * ln.penalty_rate
        day += dt.timedelta(days=1)
    interest += q(acc_i / 360)
    pen += q(acc_p / 360)
    return Claim(costs, pen, interest, principal)


START = dt.date(2024, 1, 1)


@st.composite
def schedules(draw):
    principal = D(draw(st.integers(1, 10 ** 9))) / 100
    annual = D(draw(st.integers(0, 2000))) / 10000
    penalty = annual * D(draw(st.sampled_from(["1", "1.5", "2"])))
    term = draw(st.integers(1, 400))
    maturity = START + dt.timedelta(days=term)
    defaulted = draw(st.one_of(st.none(), st.integers(0, 450).map(
        lambda d: START + dt.timedelta(days=d))))
    n = draw(st.integers(0, 8))
    events = []
    for i in range(n):
        kind = draw(st.sampled_from(["repayment", "cost", "recovery"]))
        on = START + dt.timedelta(days=draw(st.integers(-5, 480)))
        amount = D(draw(st.integers(0, 10 ** 8))) / 100
        events.append(ev(kind, amount, on, i + 1))
    as_of = START + dt.timedelta(days=draw(st.integers(-3, 480)))
    return loan(principal, annual, penalty, START, maturity, defaulted), events, as_of


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_claim_equals_day_by_day_reference(case):
    ln, events, as_of = case
    assert claim_as_of(ln, events, as_of) == reference_claim(ln, events, as_of)


def test_compute_claim_reads_the_database(actors, db):
    from tests.lending_helpers import book, make_loan
    b = book(actors)
    loan_ = make_loan(b)
    b.bank.post(f"/api/v1/loans/{loan_['id']}/costs",
                json={"amount": "500.00", "incurred_on": "2024-04-01", "description": "评估费"})
    c = compute_claim(db, loan_["id"], dt.date(2025, 3, 1))
    assert c == Claim(D("500.00"), D("0.00"), D("132312.50"), D("3000000.00"))
    api = b.bank.get(f"/api/v1/loans/{loan_['id']}/claim?as_of=2025-03-01").get_json()
    assert api["total"] == "3132812.50" and api["as_of"] == "2025-03-01"
