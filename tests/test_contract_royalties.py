"""Contract (API.md "Licensing", royalties): the licensee reports net sales for a period
of an active licence and owes net_sales × royalty_rate (half-up, cents) with a pending
payment; periods outside the term or overlapping are refused; at the end of each licence
year the scheduler bills, once, the shortfall against the minimum annual royalty. Paid
royalties go where the upfront fee goes (commission, the loan's claim, the owner)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from listings.modes.licensing_models import RoyaltyReport
from market import timeutil
from tests.contract_helpers import API, D, World, expect, market_today, money
from tests.test_contract_licensing import (FEE, apply, body, licence,
                                           pay_offline, publish, terms)


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _active(world, **kw):
    a, ln = world.collateral()
    lst = publish(world, world.bank, body(world, [a["id"]], ln["id"], licensing=terms(
        open=True, royalty_rate="0.05", minimum_annual_royalty="20000.00", **kw)))
    lic = apply(world, world.investor, lst["id"])
    pay_offline(world, world.investor, lic["id"])
    return ln, licence(world, world.investor, lic["id"])


def _report(world, lic, start, end, net="123456.78", status=201, code=None, who=None):
    return expect((who or world.investor).post(
        f"{API}/licences/{lic['id']}/royalty-reports",
        json={"period_start": start.isoformat(), "period_end": end.isoformat(),
              "net_sales": net}), status, code)


def test_a_royalty_report_bills_and_pays_down_the_claim(world):
    ln, lic = _active(world)
    start = dt.date.fromisoformat(lic["starts_on"])
    before = money(world.claim(ln["id"], market_today())["total"])
    rep = _report(world, lic, start, start + dt.timedelta(days=30))
    # 123,456.78 × 0.05 = 6,172.839 → 6,172.84 (half-up)
    assert money(rep["royalty"]) == D("6172.84")
    assert rep["payment"]["status"] == "pending" and money(rep["payment"]["amount"]) == D("6172.84")
    expect(world.operator.post(f"{API}/payments/{rep['payment']['id']}/confirm"), 200)
    got = licence(world, world.investor, lic["id"])
    assert money(got["paid_total"]) == D(FEE) + D("6172.84")
    to_claim = D("6172.84") - (D("6172.84") * D("0.01")).quantize(D("0.01"))
    assert before - money(world.claim(ln["id"], market_today())["total"]) == to_claim


def test_royalty_report_refusals(world):
    ln, lic = _active(world)
    start = dt.date.fromisoformat(lic["starts_on"])
    ends = dt.date.fromisoformat(lic["ends_on"])
    _report(world, lic, start - dt.timedelta(days=1), start, status=422, code="period_invalid")
    _report(world, lic, ends - dt.timedelta(days=5), ends, status=422, code="period_invalid")
    _report(world, lic, start + dt.timedelta(days=3), start, status=422, code="period_invalid")
    _report(world, lic, start, start + dt.timedelta(days=30))
    _report(world, lic, start + dt.timedelta(days=30), start + dt.timedelta(days=40),
            status=422, code="period_invalid")  # overlaps the first report's last day
    _report(world, lic, start + dt.timedelta(days=31), start + dt.timedelta(days=40))
    _report(world, lic, start, start, who=world.investor2, status=404)
    _report(world, lic, start, start, net="-1", status=422)
    # Not active yet: 409 licence_not_active.
    x = world.asset()
    lst = publish(world, world.owner, body(world, [x["id"]], licensing=terms(
        royalty_rate="0.05")))
    applied = apply(world, world.investor, lst["id"])
    _report(world, applied, start, start, status=409, code="licence_not_active")


def test_the_minimum_annual_royalty_shortfall_is_billed_once(world, db):
    ln, lic = _active(world)
    start = dt.date.fromisoformat(lic["starts_on"])
    rep = _report(world, lic, start, start + dt.timedelta(days=30), net="100000.00")
    assert money(rep["royalty"]) == D("5000.00")
    timeutil.advance(dt.timedelta(days=370))
    world.run_once()
    world.run_once()
    db.rollback()
    bills = list(db.scalars(select(RoyaltyReport).where(
        RoyaltyReport.licence_id == lic["id"], RoyaltyReport.kind == "minimum")))
    assert len(bills) == 1 and bills[0].royalty == D("15000.00")  # 20,000 − 5,000
    assert bills[0].period_start == start
    expect(world.operator.post(f"{API}/payments/{bills[0].payment_id}/confirm"), 200)
    got = licence(world, world.investor, lic["id"])
    assert got["status"] == "expired"
    assert money(got["paid_total"]) == D(FEE) + D("15000.00")  # the 5,000 is still unpaid
