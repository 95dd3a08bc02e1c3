"""Concurrent bidders on one hot auction through the HTTP layer (PostgreSQL): the auction
row is locked for the whole check-and-write (ARCHITECTURE.md: no check-then-act without a
lock), so no update is lost and the log rises strictly."""
from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from auctions.models import Auction, Bid
from tests.auction_helpers import make_auction, qualify

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="concurrency is tested on PostgreSQL")


def test_sixteen_threads_bidding_lose_no_update(app, db, actors):
    """法释〔2016〕18号: each accepted bid is min_next_bid at its moment; price = top bid."""
    op = actors.api("operator")
    bidders = [actors.api("investor") for _ in range(16)]
    _lid, aid = make_auction(db, actors.user("bank"), start_price="1000.00",
                             increment="10.00", deposit="100.00")
    for b in bidders:
        qualify(b, op, aid)
    accepted: list[str] = []
    codes: dict[int, int] = {}
    errors: list = []
    barrier = threading.Barrier(len(bidders))

    def run(api):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {api.token}"}
        barrier.wait()
        for _ in range(15):
            cur = client.get(f"/api/v1/auctions/{aid}").get_json()
            r = client.post(f"/api/v1/auctions/{aid}/bids", headers=headers,
                            json={"amount": cur["min_next_bid"]})
            if r.status_code == 201:
                accepted.append(r.get_json()["bid"]["amount"])
            else:
                code = r.get_json()["error"]["code"]
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                if code not in ("bid_too_low", "already_leading"):
                    errors.append((r.status_code, code))

    threads = [threading.Thread(target=run, args=(b,)) for b in bidders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    db.rollback()
    log = db.scalars(select(Bid).where(Bid.auction_id == aid).order_by(Bid.id)).all()
    amounts = [b.amount for b in log]
    assert len(log) == len(accepted) > 16
    assert all(x < y for x, y in zip(amounts, amounts[1:]))  # strictly rising
    assert all(y - x == Decimal("10.00") for x, y in zip(amounts, amounts[1:]))
    assert all(x.placed_at <= y.placed_at for x, y in zip(log, log[1:]))
    a = db.get(Auction, aid)
    assert a.current_price == amounts[-1] and a.bid_count == len(log)
    assert a.leader_code == log[-1].bidder_code
    assert sorted(Decimal(x) for x in accepted) == amounts
