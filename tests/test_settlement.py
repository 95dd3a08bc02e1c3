"""Settlement figures (API.md "Payment of the price and settlement"; 民法典 436–438, 561)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from market import settings_store
from market.errors import Invalid
from market.lending.models import Loan
from market.settlement import ledger, services
from market.settlement.cli import verify
from market.settlement.models import Settlement
from market.timeutil import utcnow
from tests.settlement_helpers import Scenario

D = Decimal
# API.md worked example: 3,000,000.00 at 4.35% from 2024-03-01 to 2025-03-01 accrues
# 132,312.50; after maturity penalty at 6.525% adds 543.75 a day. To 2025-06-01 (92 days):
INTEREST = D("132312.50")
PENALTY_92 = D("50025.00")
CLAIM_0601 = D("3000000.00") + INTEREST + PENALTY_92  # 3,182,337.50


def applied(st):
    return (st.applied_costs, st.applied_penalty_interest, st.applied_interest,
            st.applied_principal)


def check_identities(st):
    assert st.net_proceeds == st.price - st.seller_commission - st.disposal_costs
    assert st.net_proceeds == sum(applied(st)) + st.surplus_to_pledgor
    assert st.shortfall == st.claim_total - sum(applied(st))
    assert st.shortfall == sum(rs.amount for rs in st.risk_shares) + st.lender_loss
    assert st.lender_loss >= 0


def test_surplus_goes_to_pledgor(db):
    """民法典 438: what is left after the claim goes to the pledgor."""
    sc = Scenario(db, costs=[("20000.00", dt.date(2025, 4, 1))])
    st = sc.open_sale("4000000.00", deposit="300000.00", disposal_costs="10000.00")
    assert st.status == "awaiting_payment"
    assert st.seller_commission == D("40000.00")  # 1% default (MARKET_SELLER_COMMISSION_RATE)
    assert st.net_proceeds == D("3950000.00")
    assert applied(st) == (D("20000.00"), PENALTY_92, INTEREST, D("3000000.00"))
    assert st.claim_total == CLAIM_0601 + D("20000.00")
    assert st.surplus_to_pledgor == D("3950000.00") - CLAIM_0601 - D("20000.00")
    assert st.shortfall == 0 and st.lender_loss == 0 and st.risk_shares == [] or all(
        rs.amount == 0 for rs in st.risk_shares)
    assert st.balance_due == D("3700000.00")
    check_identities(st)


def test_exact_cover(db):
    """民法典 561: net proceeds exactly cover costs, penalty interest, interest, principal."""
    sc = Scenario(db, risk_shares=[("0.5", None)])
    # 3,300,000 − 33,000 commission − 84,662.50 costs = 3,182,337.50 = the claim
    st = sc.open_sale("3300000.00", disposal_costs="84662.50")
    assert st.net_proceeds == CLAIM_0601
    assert applied(st) == (D("0.00"), PENALTY_92, INTEREST, D("3000000.00"))
    assert st.surplus_to_pledgor == 0 and st.shortfall == 0
    assert [rs.amount for rs in st.risk_shares] == [D("0.00")]
    assert st.lender_loss == 0
    check_identities(st)


def test_shortfall_shared_with_caps(db):
    """DOMAIN.md Settlement: each risk party carries share × shortfall up to its cap;
    the bank carries the rest (lender_loss)."""
    sc = Scenario(db, costs=[("20000.00", dt.date(2025, 4, 1))],
                  risk_shares=[("0.4", None), ("0.3", "200000.00"), ("0.2", None)])
    st = sc.open_sale("2000000.00", deposit="200000.00", disposal_costs="30000.00")
    assert st.net_proceeds == D("1950000.00")
    assert applied(st) == (D("20000.00"), PENALTY_92, INTEREST, D("1747662.50"))
    assert st.surplus_to_pledgor == 0
    assert st.shortfall == D("1252337.50")
    assert [(rs.org_id, rs.amount) for rs in st.risk_shares] == [
        (sc.parties[0].id, D("500935.00")),   # 0.4 × shortfall
        (sc.parties[1].id, D("200000.00")),   # 0.3 × shortfall = 375,701.25 > cap
        (sc.parties[2].id, D("250467.50")),   # 0.2 × shortfall
    ]
    assert st.lender_loss == D("300935.00")
    check_identities(st)


def test_rounding_excess_comes_off_last_share(db):
    """API.md: if rounding makes the shares exceed the shortfall, the excess comes off the
    last share listed."""
    sc = Scenario(db, risk_shares=[("0.5", None), ("0.5", None)])
    st = sc.open_sale("2000000.01")  # commission 20,000.00; shortfall 1,202,337.49
    assert st.shortfall == D("1202337.49")
    assert [rs.amount for rs in st.risk_shares] == [D("601168.75"), D("601168.74")]
    assert st.lender_loss == 0
    check_identities(st)


def test_penalty_interest_across_a_long_default(db):
    """API.md claim rules: penalty interest accrues at penalty_rate/360 a day after
    maturity, without compounding — 730 days × 543.75."""
    sc = Scenario(db, risk_shares=[("0.25", "100000.00")])
    st = sc.open_sale("1000000.00", as_of=dt.date(2027, 3, 1))
    penalty = D("543.75") * 730
    assert st.claim_total == D("3000000.00") + INTEREST + penalty
    assert applied(st) == (D("0.00"), penalty, INTEREST, D("990000.00") - penalty - INTEREST)
    assert [rs.amount for rs in st.risk_shares] == [D("100000.00")]  # capped
    check_identities(st)


def test_cap_is_what_is_left_on_that_loan(db):
    """API.md: a share is capped by what is left of its cap on that loan (earlier sales
    count; a defaulted sale does not)."""
    sc = Scenario(db, risk_shares=[("0.5", "700000.00")])
    first = sc.open_sale("2000000.00")
    assert first.risk_shares[0].amount == D("601168.75")  # 0.5 × 1,202,337.50, half-up
    second = sc.open_sale("2000000.00")
    assert second.risk_shares[0].amount == D("98831.25")  # 700,000 − 601,168.75 left
    assert second.lender_loss == D("1202337.50") - D("98831.25")
    services.mark_defaulted(db, first.id)
    third = sc.open_sale("2000000.00")
    # only the second (not defaulted) sale's 98,831.25 counts against the cap now
    assert third.risk_shares[0].amount == D("601168.75")
    check_identities(third)


def test_buyer_premium_and_balance_due(db):
    """拍卖法 56: buyer premium ≤5%; balance due = price + premium − deposit."""
    settings_store.put(db, "buyer_premium_rate", "0.02", actor_id=None)
    settings_store.put(db, "seller_commission_rate", "0.05", actor_id=None)
    sc = Scenario(db)
    st = sc.open_sale("1000000.55", deposit="100000.00")
    assert st.buyer_premium == D("20000.01")
    assert st.seller_commission == D("50000.03")  # 50,000.0275 half-up
    assert st.balance_due == D("1000000.55") + D("20000.01") - D("100000.00")
    check_identities(st)


def test_commission_default_comes_from_environment(app_config):
    """API.md: MARKET_SELLER_COMMISSION_RATE is the default until an operator saves one."""
    from market.app import create_app
    from market.db import database

    app = create_app({**app_config, "MARKET_SELLER_COMMISSION_RATE": D("0.03")})
    with app.app_context(), database(app).transaction() as s:
        sc = Scenario(s)
        st = sc.open_sale("100000.00")
        assert st.seller_commission == D("3000.00")
    database(app).engine.dispose()


def test_own_ip_sale_has_no_waterfall(db):
    """A sale of an owner's own IP: everything net goes to the seller."""
    sc = Scenario(db, own_ip=True)
    st = sc.open_sale("500000.00", disposal_costs="1000.00")
    assert st.loan_id is None and st.claim_total == 0 and st.shortfall == 0
    assert st.net_proceeds == D("494000.00") and st.surplus_to_pledgor == D("494000.00")
    services.settle(db, st.id, paid_at=utcnow())
    assert ledger.balance(db, "seller_proceeds", sc.seller.id) == D("-494000.00")
    assert verify(db) == []


def test_open_sale_is_idempotent_on_sale_ref(db):
    sc = Scenario(db)
    a = sc.open_sale("1000000.00", sale_ref="auction:1")
    b = sc.open_sale("2000000.00", sale_ref="auction:1")
    assert a.id == b.id and b.price == D("1000000.00")
    assert db.query(Settlement).count() == 1


def test_costs_above_price_refused(db):
    sc = Scenario(db)
    with pytest.raises(Invalid) as e:
        sc.open_sale("1000.00", disposal_costs="5000.00")
    assert e.value.code == "costs_exceed_price"


def test_settle_applies_recovery_enforces_pledge_and_posts_once(db):
    """民法典 436–438: on settlement the recovery is applied to the loan dated as_of, the
    pledge is enforced and the loan settled; a settlement happens once."""
    from market.lending.claims import compute_claim

    fired = []
    from market import hooks

    def on_settled(session, st):
        fired.append(st.id)

    with hooks.registered("settlement.settled", on_settled):
        sc = Scenario(db, risk_shares=[("0.4", None), ("0.3", "200000.00")],
                      costs=[("20000.00", dt.date(2025, 4, 1))])
        st = sc.open_sale("2000000.00", deposit="200000.00", disposal_costs="30000.00")
        db.commit()
        assert services.settle(db, st.id, paid_at=utcnow()) is True
        db.commit()
        assert services.settle(db, st.id, paid_at=utcnow()) is False  # a retry does nothing
        db.commit()
    assert fired == [st.id]
    loan = db.get(Loan, sc.loan.id)
    db.refresh(loan)
    assert loan.status == "settled" and loan.pledge.status == "enforced"
    assert compute_claim(db, loan.id, st.as_of).total == st.shortfall
    entries = ledger.entries_for(db, "settlement", st.id)
    assert [e.idempotency_key.rsplit(":", 1)[1] for e in entries] == [
        "funds", "distribute", "shortfall"]
    assert ledger.balance(db, "bank_recovery", sc.bank.id) == -sum(applied(st))
    assert ledger.balance(db, "risk_share_receivable", sc.parties[1].id) == D("200000.00")
    assert ledger.balance(db, "lender_loss", sc.bank.id) == st.lender_loss
    assert ledger.balance(db, "cash") == st.balance_due
    assert verify(db) == []


def test_settle_a_defaulted_sale_is_refused(db):
    from market.errors import Conflict

    sc = Scenario(db)
    st = sc.open_sale("2000000.00")
    services.mark_defaulted(db, st.id)
    with pytest.raises(Conflict):
        services.settle(db, st.id, paid_at=utcnow())
