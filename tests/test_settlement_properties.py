"""Property tests of the waterfall's arithmetic (API.md identities), for any price,
costs, claim and risk shares."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from market.lending.claims import Claim
from market.money import cents
from market.settlement.services import compute_waterfall

money = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n) / 100)
rate = st.integers(min_value=0, max_value=500).map(lambda n: Decimal(n) / 10000)  # ≤ 5%
share = st.integers(min_value=0, max_value=10000).map(lambda n: Decimal(n) / 10000)


@st.composite
def parties(draw):
    n = draw(st.integers(0, 3))
    shares, left = [], Decimal(1)
    for i in range(n):
        sh = min(draw(share), left)
        left -= sh
        cap = draw(st.one_of(st.none(), money))
        shares.append((i + 1, sh, cap))
    return shares


@settings(max_examples=300, deadline=None)
@given(price=money.filter(lambda p: p > 0), commission=rate, premium=rate,
       costs_share=st.integers(0, 100), claim=st.tuples(money, money, money, money),
       shares=parties())
def test_waterfall_identities(price, commission, premium, costs_share, claim, shares):
    """API.md: net = price − commission − costs = Σ applied + surplus;
    shortfall = claim − Σ applied = Σ risk shares + lender_loss; lender_loss ≥ 0;
    each share ≤ half-up(share × shortfall) and ≤ its cap."""
    disposal = cents(price * Decimal(costs_share) / 200)  # at most half the price
    c = Claim(*claim)
    wf = compute_waterfall(price=price, seller_commission_rate=commission,
                           buyer_premium_rate=premium, disposal_costs=disposal, claim=c,
                           parties=shares)
    applied = sum(wf.applied.values())
    assert wf.seller_commission == cents(price * commission)
    assert wf.net_proceeds == price - wf.seller_commission - disposal
    assert wf.net_proceeds == applied + wf.surplus_to_pledgor
    assert wf.surplus_to_pledgor >= 0
    assert wf.shortfall == c.total - applied
    assert wf.shortfall == sum(a for _, a in wf.risk_shares) + wf.lender_loss
    assert wf.lender_loss >= 0
    # 561 order: a later head is paid only when every earlier head is paid in full
    heads = ("costs", "penalty_interest", "interest", "principal")
    for i, h in enumerate(heads):
        assert 0 <= wf.applied[h] <= getattr(c, h)
        if wf.applied[h] > 0:
            assert all(wf.applied[e] == getattr(c, e) for e in heads[:i])
    if wf.surplus_to_pledgor > 0:
        assert wf.shortfall == 0
    for (org_id, sh, cap), (org2, amount) in zip(shares, wf.risk_shares):
        assert org_id == org2 and amount >= 0
        assert amount <= cents(sh * wf.shortfall)
        if cap is not None:
            assert amount <= cap
