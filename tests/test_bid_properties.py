"""Properties of the bid resolution (auctions/engine.py) over random bid sequences:
法释〔2016〕18号 — bids on the increment grid, prices never fall, a leader never outbids
itself; proxy bidding eBay-style (the leader's maximum answers, ties to the earlier one)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from auctions.engine import check_and_resolve, floor_to_step
from market.errors import DomainError

START, INC = Decimal("1000.00"), Decimal("10.00")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

attempt = st.tuples(st.integers(0, 3),                      # bidder
                    st.integers(-2, 12),                    # amount, in increments above min
                    st.one_of(st.none(), st.integers(0, 30)))  # proxy headroom


@settings(max_examples=300, deadline=None)
@given(st.lists(attempt, min_size=1, max_size=40))
def test_random_sequences_keep_the_rules(seq):
    """Every accepted attempt leaves: price on the grid and not lower than before; the leader
    at the price; no loser's maximum above the price; the log never falls."""
    row = {"start_price": START, "increment": INC, "current_price": None,
           "leader_bidder_id": None, "leader_code": None, "allow_proxy": True,
           "status": "open", "starts_at": NOW - dt.timedelta(hours=1),
           "ends_at": NOW + dt.timedelta(hours=1)}
    maxes: dict[int, Decimal | None] = {}
    log: list[Decimal] = []
    for who, steps, headroom in seq:
        base = START if row["current_price"] is None else row["current_price"] + INC
        amount = base + steps * INC
        max_amount = None if headroom is None else amount + headroom * Decimal("3.50")
        r = dict(row, me_id=who + 1, me_code=f"C{who}", me_rank=None, leader_rank=None,
                 leader_user_id=None,
                 leader_max=maxes.get(row["leader_bidder_id"]))
        before = row["current_price"]
        try:
            placed, leader, code, price = check_and_resolve(r, amount, max_amount, NOW)
        except DomainError as exc:
            assert exc.code in ("bid_too_low", "already_leading")
            if exc.code == "already_leading":
                assert row["leader_bidder_id"] == who + 1
            else:
                assert amount < base
            continue
        assert all((p.amount - START) % INC == 0 for p in placed)
        assert before is None or price >= before
        assert placed[-1].bidder_id == leader and placed[-1].amount == price
        amounts = [p.amount for p in placed]
        assert amounts == sorted(amounts)
        if leader != who + 1:  # the challenger lost at once to the leader's maximum
            assert floor_to_step(max(max_amount or amount, amount), START, INC) <= price
        else:
            maxes[who + 1] = max_amount
        log.extend(amounts)
        row.update(current_price=price, leader_bidder_id=leader, leader_code=code)
        lmax = maxes.get(leader)
        if lmax is not None:  # the price never passes the leader's own maximum
            assert price <= floor_to_step(lmax, START, INC)
    assert log == sorted(log)
