"""The bid path on PostgreSQL: a bid that waited for the auction's lock decides on what the
lock holder left, the leader's bidder row included (its proxy maximum, its user to tell)."""
from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from auctions import engine
from auctions.models import Auction, AuctionBidder, Deposit
from market.audit import AuditRecord
from market.db import database
from market.notifications import Notification
from tests.auction_helpers import bid, make_auction, qualify

D = Decimal
pg_only = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                             reason="lock waits are PostgreSQL's (SQLite writers queue at BEGIN)")


def _audit(db, aid):
    return db.scalars(select(AuditRecord).where(AuditRecord.action == "auction.bid",
                                                AuditRecord.object_id == aid)
                      .order_by(AuditRecord.id)).all()


def _notes(db, user_id):
    return db.scalars(select(Notification).where(Notification.user_id == user_id,
                                                 Notification.kind.like("auction.%"))
                      .order_by(Notification.id)).all()


def _hold_the_lock_then_bid(app, db, hold, challenger, aid, amount):
    """`hold(session)` does its work in a transaction that keeps the auction row locked; the
    challenger's bid is sent meanwhile and waits for the lock; then the holder commits.
    Returns the challenger's response."""
    holder = database(app).sessions()
    hold(holder)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", bid(challenger, aid, amount)))
    t.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the challenger waits for the row lock
            waiting = db.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                     " current_database() AND wait_event_type = 'Lock'"))
            db.rollback()
            if waiting:
                break
            time.sleep(0.02)
        assert waiting, "the challenger's bid never waited for the auction's lock"
    finally:
        holder.commit()
        holder.close()
        t.join()
    return result["r"]


@pg_only
@pytest.mark.parametrize("allow_proxy", [False, True])
def test_a_bid_that_waited_tells_the_leader_the_holder_made(app, db, actors, allow_proxy):
    """The bid that waited displaced the lock holder's new lead: that bidder is told."""
    op, a1, a2, a3 = (actors.api(r) for r in ("operator", "investor", "investor", "investor"))
    _lid, aid = make_auction(db, actors.user("bank"), allow_proxy=allow_proxy)
    for x in (a1, a2, a3):
        qualify(x, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201

    def a2_bids(s):
        engine.place_bid(s, aid, a2.user["id"], D("101000.00"))

    r = _hold_the_lock_then_bid(app, db, a2_bids, a3, aid, "102000.00")
    assert r.status_code == 201, r.get_json()
    assert [n.kind for n in _notes(db, a1.user["id"])] == ["auction.outbid"]
    assert [n.kind for n in _notes(db, a2.user["id"])] == ["auction.outbid"]
    before = _audit(db, aid)[-1].before
    assert '"current_price": "101000.00"' in before


@pg_only
def test_a_bid_that_waited_meets_the_holders_new_proxy_maximum(app, db, actors):
    op, a1, a2, a3 = (actors.api(r) for r in ("operator", "investor", "investor", "investor"))
    _lid, aid = make_auction(db, actors.user("bank"), allow_proxy=True)
    for x in (a1, a2, a3):
        qualify(x, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201

    def a2_bids_with_a_maximum(s):
        engine.place_bid(s, aid, a2.user["id"], D("101000.00"), D("110000.00"))

    r = _hold_the_lock_then_bid(app, db, a2_bids_with_a_maximum, a3, aid, "105000.00")
    assert r.status_code == 201, r.get_json()
    a = db.get(Auction, aid)
    code2 = db.scalar(select(AuctionBidder.code).where(AuctionBidder.user_id == a2.user["id"]))
    assert (a.leader_code, a.current_price) == (code2, D("106000.00"))  # a2's proxy answered
    assert [n.kind for n in _notes(db, a3.user["id"])] == ["auction.outbid"]


@pg_only
def test_a_bid_that_waited_sees_a_leader_qualified_meanwhile(app, db, actors):
    """The holder qualifies a new bidder and bids for it in one transaction: the waiting
    bid cannot have seen that bidder's row before the lock, yet must tell it."""
    from auctions import deposits

    op, a1, a3, a4 = (actors.api(r) for r in ("operator", "investor", "investor", "investor"))
    _lid, aid = make_auction(db, actors.user("bank"))
    for x in (a1, a3):
        qualify(x, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201
    r = a4.post(f"/api/v1/auctions/{aid}/deposits", json={"method": "offline"})
    assert r.status_code == 201
    dep_id = r.get_json()["id"]

    def a4_qualifies_and_bids(s):
        deposits.mark_held(s, s.get(Deposit, dep_id), actor_id=op.user["id"])
        engine.place_bid(s, aid, a4.user["id"], D("101000.00"))

    r = _hold_the_lock_then_bid(app, db, a4_qualifies_and_bids, a3, aid, "102000.00")
    assert r.status_code == 201, r.get_json()
    assert [n.kind for n in _notes(db, a4.user["id"])] == ["auction.outbid"]
