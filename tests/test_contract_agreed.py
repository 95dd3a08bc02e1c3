"""Contract (API.md "Agreed valuation", 协议折价): the bank takes the pledged IP at a value
agreed with the pledgor; the loan settles through the one settlement service; the bank
must dispose of the IP by dispose_by, flagged from 90 days before. Black box, except the
monitoring job run for a given day, the sale of the bank's listing (another package's
close, here a settled Sale of plain values) and reading the ledger and recovery figures."""
from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from sqlalchemy import select

from market import settings_store
from market.db import database
from market.lending.agreed import years_after
from market.lending.models import AgreedValuation, LoanFlag
from market.lending.monitoring import run_monitoring
from market.notifications import Notification
from market.settlement import ledger
from market.settlement.models import Settlement
from market.settlement.sale import Sale, open_sale, settle_sale
from market.settlement.views import recovery_by_mode
from market.timeutil import utcnow
from tests.conftest import ApiClient
from tests.contract_helpers import (API, D, ResponseRecorder, World, check_cases, expect,
                                    half_up, market_today, money)

DECLARED = "2025-03-10"


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _post(world, loan_id, value="800000.00", agreed_on=None, ref="CONSENT-2026-001",
          who=None):
    return (who or world.bank).post(
        f"{API}/loans/{loan_id}/agreed-valuation",
        json={"value": value, "agreed_on": (agreed_on or market_today()).isoformat(),
              "pledgor_consent_ref": ref})


def _taken_until(world, dispose_by: dt.date):
    """The bank takes an asset expiring on `dispose_by` (the earlier date) today."""
    a = world.asset(expires_on=dispose_by.isoformat())
    world.value(a["id"], "1000000.00")
    ln = world.loan([a["id"]])
    world.default(ln["id"], DECLARED)
    got = expect(_post(world, ln["id"], "800000.00", market_today()), 201)
    assert got["dispose_by"] == dispose_by.isoformat()
    return a, ln


def _run(app, day):
    with app.app_context():
        return run_monitoring(database(app), "Asia/Shanghai", today=day)


def _open_flags(db, loan_id):
    db.rollback()
    return [f.kind for f in db.scalars(select(LoanFlag).where(
        LoanFlag.loan_id == loan_id, LoanFlag.cleared_at.is_(None)))]


def test_agreement_with_a_shortfall_settles_the_loan(world):
    """Value applied as of agreed_on in 561 order, no commission; shortfall split by the
    risk shares; pledge enforced, loan settled, the bank owns the IP; register updated."""
    fund_org = world.fund["org_id"]
    a = world.asset()
    world.value(a["id"], "1000000.00")
    ln = world.loan([a["id"]], risk_shares=[{"org_id": fund_org, "share": "0.5"}])
    world.default(ln["id"], DECLARED)
    today = market_today()
    claim = world.claim(ln["id"], today)
    got = expect(_post(world, ln["id"], "800000.00", today), 201)
    assert set(got) == {"value", "agreed_on", "dispose_by", "status", "applied",
                        "surplus_to_pledgor", "shortfall", "risk_shares", "lender_loss"}
    assert got["value"] == "800000.00" and got["agreed_on"] == today.isoformat()
    assert got["dispose_by"] == years_after(today, 2).isoformat()
    assert got["status"] == "holding"
    applied = {k: money(v) for k, v in got["applied"].items()}
    assert sum(applied.values()) == D("800000.00")  # no commission, no disposal costs
    # 561 order: costs, penalty interest, interest first; the rest to principal.
    assert applied["penalty_interest"] == money(claim["penalty_interest"])
    assert applied["interest"] == money(claim["interest"])
    shortfall = money(claim["total"]) - D("800000.00")
    assert money(got["shortfall"]) == shortfall and money(got["surplus_to_pledgor"]) == 0
    share = half_up(shortfall * D("0.5"))
    assert got["risk_shares"] == [{"org_id": fund_org, "amount": f"{share:.2f}"}]
    assert money(got["lender_loss"]) == shortfall - share
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200) == got
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["status"] == "settled" and loan["pledge"]["status"] == "enforced"
    assert loan["pledge"]["enforced_on"] == today.isoformat()
    asset = expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)
    assert asset["owner_org_id"] == world.bank.user["org_id"]
    reg = expect(world.anon.get(f"{API}/registry/pledges?registry_no={a['registry_no']}"), 200)
    assert [(r["status"], r["changed_on"]) for r in reg["items"]] == [
        ("enforced", today.isoformat())]
    # The borrower and operators see it; another bank does not learn it exists.
    expect(world.owner.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200)
    expect(world.operator.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200)
    expect(world.bank2.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 404)
    expect(world.anon.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 401)


def test_agreement_above_the_claim_leaves_a_surplus_owed_to_the_pledgor(world, db):
    a = world.asset()
    world.value(a["id"], "1000000.00")
    ln = world.loan([a["id"]], principal="100000.00")
    world.default(ln["id"], DECLARED)
    today = market_today()
    claim = money(world.claim(ln["id"], today)["total"])
    got = expect(_post(world, ln["id"], "900000.00", today), 201)
    assert sum(money(v) for v in got["applied"].values()) == claim
    assert money(got["surplus_to_pledgor"]) == D("900000.00") - claim
    assert (money(got["shortfall"]), got["risk_shares"], money(got["lender_loss"])) == (
        0, [], 0)
    assert money(world.claim(ln["id"], today)["total"]) == 0
    # No cash reached the exchange: the bank took the IP against its claim (set-off).
    db.rollback()
    bank_org = world.bank.user["org_id"]
    assert ledger.balance(db, "cash") == 0
    assert ledger.balance(db, "set_off", bank_org) == D("900000.00")
    assert ledger.balance(db, "bank_recovery", bank_org) == -claim
    assert ledger.balance(db, "pledgor_surplus", world.borrower_id) == -(D("900000.00") - claim)
    assert ledger.balance(db, "platform_commission") == 0
    # The bank's recovery panel counts it as its own disposal mode.
    rows = recovery_by_mode(db, bank_org)
    assert [(r["mode"], r["settled"], r["recovered"]) for r in rows] == [
        ("agreed_valuation", 1, claim)]


def test_refusals_in_the_contracts_order_write_nothing(world):
    today = market_today()
    # A performing loan: not defaulted.
    a0 = world.asset()
    world.value(a0["id"])
    performing = world.loan([a0["id"]])
    # Assets in a live listing (submitted for review), also before the default date.
    a1, listed = world.collateral()
    lst = world.listing(world.bank, world.listing_body([a1["id"]], listed["id"]))
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 200)
    # No valid valuation.
    a2, unvalued = world.collateral(value=None)
    # A fine one, for the floor and the date.
    a3, ok = world.collateral()
    path = "/loans/{}/agreed-valuation"
    body = {"value": "800000.00", "agreed_on": today.isoformat(), "pledgor_consent_ref": "C-1"}
    check_cases([
        (world.bank, "POST", path.format(performing["id"]), body, 409, "loan_not_defaulted"),
        (world.bank, "POST", path.format(listed["id"]), {**body, "agreed_on": "2025-03-01"},
         409, "assets_listed"),
        (world.bank, "POST", path.format(ok["id"]), {**body, "agreed_on": "2025-03-09"},
         422, "agreed_before_default"),
        (world.bank, "POST", path.format(ok["id"]), {**body, "value": "699999.99"},
         422, "value_below_floor"),
        (world.bank, "POST", path.format(unvalued["id"]), body, 422, "no_valid_valuation"),
        (world.bank, "POST", path.format(ok["id"]),
         {**body, "agreed_on": (today + dt.timedelta(days=1)).isoformat()}, 422),
        (world.bank, "POST", path.format(ok["id"]), {**body, "pledgor_consent_ref": ""}, 422),
        (world.bank, "POST", path.format(ok["id"]), {**body, "value": "abc"}, 422),
        (world.bank, "POST", path.format(ok["id"]), {"value": "800000.00"}, 422),
        (world.bank, "POST", path.format(ok["id"]), {**body, "value": "0.00"}, 422,
         "invalid_amount"),
        # The request's own faults come before the loan is looked at (Conventions).
        (world.bank2, "POST", path.format(ok["id"]), {**body, "value": "0.00"}, 422),
        (world.bank, "POST", path.format(performing["id"]),
         {**body, "agreed_on": (today + dt.timedelta(days=1)).isoformat()}, 422,
         "invalid_dates"),
        (world.bank2, "POST", path.format(ok["id"]), body, 404),
        (world.owner, "POST", path.format(ok["id"]), body, 403),
        (world.anon, "POST", path.format(ok["id"]), body, 401),
        (world.bank, "GET", path.format(ok["id"]), None, 404),
        (world.bank, "POST", path.format(2**31 - 1), body, 404),
    ])
    # Nothing was written: every loan is as it was, every asset still the borrower's.
    for ln, status in ((performing, "performing"), (listed, "defaulted"),
                       (unvalued, "defaulted"), (ok, "defaulted")):
        got = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
        assert (got["status"], got["pledge"]["status"]) == (status, "registered")
    for a in (a1, a2, a3):
        assert expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)["owner_org_id"] == \
            world.borrower_id
    # Exactly 70% is the floor itself; a second agreement is refused.
    expect(_post(world, ok["id"], "700000.00", today), 201)
    expect(_post(world, ok["id"], "800000.00", today), 409, "already_agreed")


def test_the_floor_follows_the_setting(world, db):
    """start_price_floor_ratio (the operator's floor) is the agreed value's floor too."""
    settings_store.put(db, "start_price_floor_ratio", "0.80", actor_id=None)
    db.commit()
    _a, ln = world.collateral()
    expect(_post(world, ln["id"], "750000.00"), 422, "value_below_floor")
    expect(_post(world, ln["id"], "800000.00"), 201)


def test_dispose_by_two_years_from_29_february_and_overdue(world):
    """29 February + 2 years → 28 February (财金〔2005〕53号); past it, unsold → overdue."""
    a = world.asset()
    world.value(a["id"], "1000000.00", valued_on=dt.date(2024, 2, 1))
    ln = world.loan([a["id"]], disbursed_on="2023-03-01", maturity_on="2024-01-31")
    world.default(ln["id"], "2024-02-10")
    got = expect(_post(world, ln["id"], "800000.00", dt.date(2024, 2, 29)), 201)
    assert got["dispose_by"] == "2026-02-28"
    assert market_today() > dt.date(2026, 2, 28)
    assert got["status"] == "overdue"
    assert years_after(dt.date(2024, 2, 29), 2) == dt.date(2026, 2, 28)
    assert years_after(dt.date(2024, 2, 28), 2) == dt.date(2026, 2, 28)


def test_dispose_by_is_capped_by_the_earliest_expiry(world):
    today = market_today()
    soon = today + dt.timedelta(days=400)
    a = world.asset(expires_on=soon.isoformat())
    b = world.asset(expires_on=(today + dt.timedelta(days=500)).isoformat())
    for x in (a, b):
        world.value(x["id"], "500000.00")
    ln = world.loan([a["id"], b["id"]])
    world.default(ln["id"], DECLARED)
    got = expect(_post(world, ln["id"], "700000.00", today), 201)
    assert got["dispose_by"] == soon.isoformat() < years_after(today, 2).isoformat()


def test_disposal_years_setting_changes_dispose_by(world, db):
    settings_store.put(db, "agreed_valuation_disposal_years", "1", actor_id=None)
    db.commit()
    today = market_today()
    _a, ln = world.collateral()
    got = expect(_post(world, ln["id"], "800000.00", today), 201)
    assert got["dispose_by"] == years_after(today, 1).isoformat()


def test_deadline_flag_from_90_days_before_until_disposed(app, world, db):
    """The settled loan carries disposal_deadline from dispose_by − 90 days (loan, book,
    notification) until the bank has sold every asset through a listing of its own."""
    today = market_today()
    dispose_by = today + dt.timedelta(days=120)
    a, ln = _taken_until(world, dispose_by)
    _run(app, dispose_by - dt.timedelta(days=91))
    assert _open_flags(db, ln["id"]) == []
    _run(app, dispose_by - dt.timedelta(days=90))
    assert _open_flags(db, ln["id"]) == ["disposal_deadline"]
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["status"] == "settled"
    assert [f["kind"] for f in loan["flags"]] == ["disposal_deadline"]
    assert dispose_by.isoformat() in loan["flags"][0]["detail"]
    db.rollback()
    assert db.scalar(select(Notification).where(
        Notification.user_id == world.bank.user["id"], Notification.kind == "loan.flag"))
    _run(app, dispose_by - dt.timedelta(days=90))
    assert _open_flags(db, ln["id"]) == ["disposal_deadline"]  # raised once

    # The bank lists the IP it now owns and the sale settles (the price is paid).
    lst = world.listing(world.bank, world.listing_body([a["id"]], title="自有专利转让"))
    buyer_org = world.investor.user["org_id"]
    db.rollback()
    st = open_sale(db, Sale(mode="transfer", source_id=lst["id"], listing_id=lst["id"],
                            seller_org_id=world.bank.user["org_id"], buyer_org_id=buyer_org,
                            price=D("900000.00"), as_of=today, asset_ids=(a["id"],)))
    settle_sale(db, st.id, paid_at=utcnow())
    db.commit()
    assert _open_flags(db, ln["id"]) == []
    got = expect(world.bank.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200)
    assert got["status"] == "disposed"
    # Market data: the bank's transfer is a sale; the agreed valuation is not.
    sales = expect(world.anon.get(f"{API}/market/sales"), 200)["items"]
    assert [x["listing_id"] for x in sales] == [lst["id"]]
    # Disposed stays disposed, even past dispose_by.
    _run(app, dispose_by + dt.timedelta(days=1))
    assert _open_flags(db, ln["id"]) == []


def test_overdue_keeps_the_flag_until_disposed(app, world, db):
    dispose_by = market_today() + dt.timedelta(days=30)
    _a, ln = _taken_until(world, dispose_by)
    _run(app, dispose_by + dt.timedelta(days=1))
    assert _open_flags(db, ln["id"]) == ["disposal_deadline"]
    db.rollback()
    av = db.scalar(select(AgreedValuation).where(AgreedValuation.loan_id == ln["id"]))
    assert av.status == "overdue"  # moved by the job, through the lifecycle


def test_a_sale_by_another_seller_does_not_dispose(app, world, db):
    """Only the bank that settled disposes: a sale of other assets changes nothing."""
    today = market_today()
    _a, ln = world.collateral()
    expect(_post(world, ln["id"], "800000.00", today), 201)
    other = world.asset(world.owner2, owner_org_id=world.owner2.user["org_id"])
    lst = world.listing(world.owner2, world.listing_body([other["id"]], title="另一专利"))
    db.rollback()
    st = open_sale(db, Sale(mode="transfer", source_id=lst["id"], listing_id=lst["id"],
                            seller_org_id=world.owner2.user["org_id"],
                            buyer_org_id=world.investor.user["org_id"],
                            price=D("100000.00"), as_of=today, asset_ids=(other["id"],)))
    settle_sale(db, st.id, paid_at=utcnow())
    db.commit()
    got = expect(world.bank.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200)
    assert got["status"] == "holding"


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL (TEST_DATABASE_URL): two writers at once")
def test_two_agreements_racing_on_one_loan_settle_it_once(app, world, db):
    _a, ln = world.collateral()
    # Two clients of the same bank: separate requests, sessions, connections.
    clients = [ApiClient(app.test_client(), world.bank.token, world.bank.user)
               for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def go(i):
        barrier.wait()
        resp = _post(world, ln["id"], ("800000.00", "850000.00")[i], who=clients[i])
        results[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0] for r in results) == [201, 409], results
    assert next(r[1] for r in results if r[0] == 409)["error"]["code"] == "already_agreed"
    db.rollback()
    assert len(list(db.scalars(select(Settlement).where(Settlement.loan_id == ln["id"])))) == 1


def test_a_released_pledge_leaves_nothing_to_take(world):
    """The claim was repaid in full after the default: the pledge is released, the loan
    still reads defaulted, and there is nothing to take at an agreed value."""
    today = market_today()
    _a, ln = world.collateral()
    owed = world.claim(ln["id"], today)["total"]
    expect(world.bank.post(f"{API}/loans/{ln['id']}/repayments",
                           json={"amount": owed, "paid_on": today.isoformat()}), 201)
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["pledge"]["status"] == \
        "released"
    expect(_post(world, ln["id"], "800000.00", today), 409, "pledge_not_registered")


def test_responses_match_the_documented_schema(app, actors):
    """Successes and refusals of both operations match /api/openapi.json."""
    recorder = ResponseRecorder(app)
    try:
        world = World(app, actors)
        shares = [{"org_id": world.fund["org_id"], "share": "0.3", "cap": "10000.00"}]
        _a, ln = world.collateral(risk_shares=shares)
        expect(_post(world, ln["id"], "699999.99"), 422, "value_below_floor")
        expect(_post(world, ln["id"], "800000.00"), 201)
        expect(_post(world, ln["id"], "800000.00"), 409, "already_agreed")
        expect(world.owner.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 200)
        expect(world.bank2.get(f"{API}/loans/{ln['id']}/agreed-valuation"), 404)
        problems = recorder.problems(expect(world.anon.get("/api/openapi.json"), 200))
    finally:
        recorder.close()
    assert not problems, "\n".join(problems)
    seen = {(m, s) for m, p, s, _ in recorder.seen if p.endswith("/agreed-valuation")}
    assert seen >= {("post", 201), ("post", 409), ("post", 422), ("get", 200), ("get", 404)}
