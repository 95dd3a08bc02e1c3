"""Contract (API.md "Payment of the price and settlement"), black box: figures at the
close, the winner's payment, operator confirmation settling the sale, the loan, the
register and the claim afterwards; a shortfall case with two risk shares (one capped) and
a surplus case."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.contract_helpers import (API, D, World, expect, half_up, instant, is_money,
                                    market_today, money, sleep_until)

SETTLEMENT_KEYS = {"status", "price", "buyer_premium", "seller_commission", "disposal_costs",
                   "net_proceeds", "applied", "surplus_to_pledgor", "shortfall",
                   "risk_shares", "lender_loss", "as_of", "balance_due", "balance_due_by"}
ORDER = ("costs", "penalty_interest", "interest", "principal")
PREMIUM = D("0.02")
COMMISSION = D("0.01")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 2,
            "MARKET_BUYER_PREMIUM_RATE": PREMIUM, "MARKET_SELLER_COMMISSION_RATE": COMMISSION}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def sell(world, *, principal, risk_shares=None, price="720000.00", disposal="3000.00"):
    """A bank's collateral auction (value 1,000,000; start 700,000) sold to investor2."""
    a = world.asset(title="一种行星齿轮减速器")
    world.value(a["id"], "1000000.00")
    ln = world.loan([a["id"]], principal=principal, risk_shares=risk_shares)
    world.default(ln["id"], declared_on="2025-03-10")
    r = world.bank.post(f"{API}/loans/{ln['id']}/costs",
                        json={"amount": "2000.00", "incurred_on": "2025-04-01",
                              "description": "诉讼费"})
    assert r.status_code in (200, 201), r.get_json()
    data = world.listing_body([a["id"]], ln["id"], start="700000.00", increment="10000.00",
                              deposit="70000.00", starts_in=1, lasts=3,
                              extension_window_s=1, extension_s=1)
    lst = world.listing(world.bank, data)
    if callable(disposal):  # chosen from the claim as of today (the sale's as_of)
        disposal = disposal(world.claim(ln["id"], market_today()))
    world.disposal = disposal
    r = world.bank.post(f"{API}/listings/{lst['id']}/costs",
                        json={"amount": disposal, "description": "公告及评估费"})
    assert r.status_code in (200, 201), r.get_json()
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 200)
    sleep_until(instant(data["auction"]["starts_at"]))
    lst = expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)
    aid = lst["auction_id"]
    world.qualify(world.investor, aid)
    world.qualify(world.investor2, aid)
    expect(world.bid(world.investor, aid, "700000.00"), 201)
    win = expect(world.bid(world.investor2, aid, price), 201)
    sleep_until(instant(world.auction(aid)["ends_at"]))
    world.run_once()
    auc = world.auction(aid)
    assert auc["status"] == "closed" and auc["winner_code"] == win["bid"]["bidder_code"], auc
    as_of = instant(auc["ends_at"]).astimezone(ZoneInfo("Asia/Shanghai")).date()
    return a, ln, lst, auc, as_of


def check_figures(world, st, ln, as_of, price: str) -> dict:
    assert set(st) >= SETTLEMENT_KEYS, sorted(SETTLEMENT_KEYS - set(st))
    assert st["as_of"] == as_of.isoformat(), st
    for k in ("price", "buyer_premium", "seller_commission", "disposal_costs", "net_proceeds",
              "surplus_to_pledgor", "shortfall", "lender_loss", "balance_due"):
        assert is_money(st[k]), (k, st)
    p = money(st["price"])
    assert p == D(price)
    assert money(st["buyer_premium"]) == half_up(p * PREMIUM), st
    assert money(st["seller_commission"]) == half_up(p * COMMISSION), st
    assert money(st["disposal_costs"]) == D(world.disposal), st
    net = money(st["net_proceeds"])
    assert net == p - money(st["seller_commission"]) - money(st["disposal_costs"]), st
    assert money(st["balance_due"]) == p + money(st["buyer_premium"]) - D("70000.00"), st
    assert st["balance_due_by"], st
    claim = world.claim(ln["id"], as_of)
    # applied = net_proceeds spread over the claim as of as_of in 561 order.
    left, expected = net, {}
    for k in ORDER:
        expected[k] = min(left, money(claim[k]))
        left -= expected[k]
    applied = {k: money(st["applied"][k]) for k in ORDER}
    assert applied == expected, (st["applied"], claim)
    total_applied = sum(applied.values())
    assert net == total_applied + money(st["surplus_to_pledgor"]), st
    shortfall = money(claim["total"]) - total_applied
    assert money(st["shortfall"]) == shortfall, (st, claim)
    shares = sum(money(r["amount"]) for r in st["risk_shares"])
    assert shortfall == shares + money(st["lender_loss"]), st
    assert money(st["lender_loss"]) >= 0
    return {"claim": claim, "applied": applied, "shortfall": shortfall}


def pay_and_settle(world, lst, ln, st, fig, as_of):
    lid = lst["id"]
    r = world.investor.post(f"{API}/listings/{lid}/payments", json={"method": "offline"})
    assert 400 <= r.status_code < 500, ("the loser may not pay", r.status_code, r.get_json())
    expect(world.investor2.post(f"{API}/listings/{lid}/payments", json={"method": "cash"}), 422)
    pay = expect(world.investor2.post(f"{API}/listings/{lid}/payments",
                                      json={"method": "offline"}), 201)
    assert isinstance(pay["id"], int) and pay["status"] == "pending", pay
    assert pay["amount"] == st["balance_due"], (pay, st)
    assert pay["reference"], pay
    expect(world.bank.post(f"{API}/payments/{pay['id']}/confirm"), 403)
    done = expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    assert done["status"] == "paid" and done["id"] == pay["id"], done
    expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 409)
    r = world.investor2.post(f"{API}/listings/{lid}/payments", json={"method": "offline"})
    assert r.status_code == 409, ("paid already", r.status_code, r.get_json())
    after = expect(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)
    assert after["status"] == "settled", after
    for k in SETTLEMENT_KEYS - {"status", "balance_due", "balance_due_by"}:
        assert after[k] == st[k], (k, st[k], after[k])
    # The loan is settled, the pledge enforced, the claim reduced by exactly what was applied.
    assert expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)["status"] == "settled"
    registry_no = expect(world.bank.get(f"{API}/assets/{lst['asset_ids'][0]}"), 200)["registry_no"]
    reg = expect(world.anon.get(f"{API}/registry/pledges?registry_no={registry_no}"), 200)
    assert [r["status"] for r in reg["items"]] == ["enforced"], reg
    claim_after = world.claim(ln["id"], as_of)
    for k in ORDER:
        assert money(claim_after[k]) == money(fig["claim"][k]) - fig["applied"][k], (
            k, fig["claim"], claim_after)
    assert money(claim_after["total"]) == fig["shortfall"]
    # Enforcement costs are allowed at any time, a settled loan included.
    later = as_of + dt.timedelta(days=1)
    before_cost = world.claim(ln["id"], later)
    r = world.bank.post(f"{API}/loans/{ln['id']}/costs",
                        json={"amount": "100.00", "incurred_on": later.isoformat(),
                              "description": "执行费"})
    assert r.status_code in (200, 201), (r.status_code, r.get_json())
    assert money(world.claim(ln["id"], later)["costs"]) == \
        money(before_cost["costs"]) + D("100.00")
    return after


def test_shortfall_with_two_risk_shares_one_capped(world):
    """API.md settlement / 民法典 436–438, 561: shortfall = Σ risk shares + lender loss;
    each share min(half-up(share × shortfall), cap)."""
    shares = [{"org_id": world.fund["org_id"], "share": "0.4", "cap": "500000.00"},
              {"org_id": world.insurer["org_id"], "share": "0.3"}]
    a, ln, lst, auc, as_of = sell(world, principal="3000000.00", risk_shares=shares)
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    assert st["status"] == "awaiting_payment", st
    fig = check_figures(world, st, ln, as_of, "720000.00")
    s = fig["shortfall"]
    assert s > 0 and money(st["surplus_to_pledgor"]) == 0
    assert fig["applied"]["principal"] > 0 and fig["applied"]["costs"] == D("2000.00")
    got = [(r["org_id"], money(r["amount"])) for r in st["risk_shares"]]
    assert got == [(world.fund["org_id"], D("500000.00")),
                   (world.insurer["org_id"], half_up(s * D("0.3")))], (got, s)
    assert money(st["lender_loss"]) == s - D("500000.00") - half_up(s * D("0.3"))
    expect(world.owner.get(f"{API}/listings/{lst['id']}/settlement"), 200)   # the pledgor
    expect(world.operator.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    expect(world.bank2.get(f"{API}/listings/{lst['id']}/settlement"), 404)
    r = world.investor3.get(f"{API}/listings/{lst['id']}/settlement")
    assert r.status_code in (403, 404), (r.status_code, r.get_json())
    pay_and_settle(world, lst, ln, st, fig, as_of)


def test_surplus_goes_to_pledgor(world):
    """API.md settlement / 民法典 438: what is left after the claim goes to the pledgor."""
    a, ln, lst, auc, as_of = sell(world, principal="100000.00")
    st = expect(world.operator.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    assert st["status"] == "awaiting_payment", st
    fig = check_figures(world, st, ln, as_of, "720000.00")
    assert fig["shortfall"] == 0 and money(st["shortfall"]) == D("0.00")
    assert money(st["lender_loss"]) == D("0.00")
    assert all(money(r["amount"]) == 0 for r in st["risk_shares"]), st
    assert fig["applied"] == {k: money(fig["claim"][k]) for k in ORDER}
    surplus = money(st["net_proceeds"]) - money(fig["claim"]["total"])
    assert surplus > 0 and money(st["surplus_to_pledgor"]) == surplus, st
    pay_and_settle(world, lst, ln, st, fig, as_of)
    assert money(world.claim(ln["id"], as_of)["total"]) == D("0.00")
    assert as_of <= dt.date.today() + dt.timedelta(days=1)
    # The sale transferred the IP: the buyer's organisation owns it now, so the former
    # owner can no longer pledge it (专利权质押登记办法: the pledgor must be the owner).
    asset = expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)
    assert asset["owner_org_id"] == world.investor2.user["org_id"], asset
    again = world.loan_body([a["id"]])
    expect(world.bank.post(f"{API}/loans", json=again), 422, "pledgor_not_owner")


def test_rounding_excess_comes_off_the_last_share(world):
    """API.md settlement: each share is half-up(share × shortfall); if rounding makes the
    shares exceed the shortfall, the excess comes off the last share listed."""
    def odd_cents(claim):
        # net = 720,000 − 7,200 − disposal; pick disposal so the shortfall has odd cents.
        base = money(claim["total"]) - D("712800.00") + D("3000.00")
        return "3000.00" if int(base * 100) % 2 else "3000.01"

    shares = [{"org_id": world.fund["org_id"], "share": "0.5"},
              {"org_id": world.insurer["org_id"], "share": "0.5"}]
    a, ln, lst, auc, as_of = sell(world, principal="3000000.00", risk_shares=shares,
                                  disposal=odd_cents)
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    fig = check_figures(world, st, ln, as_of, "720000.00")
    s = fig["shortfall"]
    assert int(s * 100) % 2 == 1, s
    half = half_up(s * D("0.5"))
    got = [(r["org_id"], money(r["amount"])) for r in st["risk_shares"]]
    assert got == [(world.fund["org_id"], half),
                   (world.insurer["org_id"], half - D("0.01"))], (got, s)
    assert money(st["lender_loss"]) == D("0.00"), st
