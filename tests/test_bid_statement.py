"""The bid path on PostgreSQL: most bids read a snapshot, are decided by the rules the
locked path uses, and are written by one guarded statement (auctions/engine.py
place_plain_bid_pg), answered before Flask (auctions/api.py BidShortcut); the rest take
the locked path. Either way a bid writes exactly what the locked path always wrote, and a
bid whose write waited for the auction's lock decides again on what the lock holder left,
the leader's bidder row included."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from auctions import engine
from auctions.models import Auction, AuctionBidder, Bid
from market.audit import AuditRecord, encode
from market.db import database
from market.money import from_minor
from market.notifications import Notification
from market.payments.models import Deposit
from tests.auction_helpers import bid, make_auction, move_times, qualify

D = Decimal
pg_only = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                             reason="the one-statement bid and lock waits are PostgreSQL's")


def _audit(db, aid):
    return db.scalars(select(AuditRecord).where(AuditRecord.action == "auction.bid",
                                                AuditRecord.object_id == aid)
                      .order_by(AuditRecord.id)).all()


def _notes(db, user_id):
    return db.scalars(select(Notification).where(Notification.user_id == user_id,
                                                 Notification.kind.like("auction.%"))
                      .order_by(Notification.id)).all()


def test_a_bid_writes_the_audit_notes_and_bid_rows_of_the_locked_path(app, db, actors):
    """Audit before/after texts, outbid and extended notes, the bid row: as engine.place_bid
    builds them (on PostgreSQL the bids here are served by the guarded statement)."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    ends0 = db.get(Auction, aid).ends_at
    db.rollback()

    r1 = bid(a1, aid, "100000.00")
    assert r1.status_code == 201
    code1 = r1.get_json()["bid"]["bidder_code"]
    move_times(app, aid, ends_in=60)  # inside the 300 s window: the next bid extends
    ends60 = db.get(Auction, aid).ends_at
    db.rollback()
    r2 = bid(a2, aid, "101000.00")
    assert r2.status_code == 201
    out2 = r2.get_json()
    code2, placed2 = out2["bid"]["bidder_code"], dt.datetime.fromisoformat(out2["bid"]["placed_at"])
    ends2 = placed2 + dt.timedelta(seconds=300)
    assert out2["auction"]["ends_at"] == ends2.isoformat()

    first, second = _audit(db, aid)
    assert first.actor_id == a1.user["id"] and second.actor_id == a2.user["id"]
    assert first.before == encode(
        {"current_price": None, "leader_code": None, "ends_at": ends0})
    assert first.after == encode(
        {"bids": [[code1, D("100000.00"), "bid"]], "current_price": D("100000.00"),
         "leader_code": code1, "ends_at": ends0})
    assert second.before == encode(
        {"current_price": D("100000.00"), "leader_code": code1, "ends_at": ends60})
    assert second.after == encode(
        {"bids": [[code2, D("101000.00"), "bid"]], "current_price": D("101000.00"),
         "leader_code": code2, "ends_at": ends2})
    assert second.at == placed2

    notes = _notes(db, a1.user["id"])
    assert [(n.kind, n.subject, n.body, n.link) for n in notes] == [
        ("auction.outbid", engine.OUTBID_SUBJECT.format(id=aid),
         engine.OUTBID_BODY.format(price=D("101000.00")), f"/auctions/{aid}"),
        ("auction.extended", engine.EXTENDED_SUBJECT.format(id=aid),
         engine.EXTENDED_BODY + ends2.isoformat(), f"/auctions/{aid}")]
    assert all(n.created_at == placed2 and n.read_at is None for n in notes)
    assert _notes(db, a2.user["id"]) == []

    rows = db.scalars(select(Bid).where(Bid.auction_id == aid).order_by(Bid.id)).all()
    b2 = db.scalar(select(AuctionBidder).where(AuctionBidder.auction_id == aid,
                                               AuctionBidder.user_id == a2.user["id"]))
    assert [(b.bidder_code, b.amount, b.max_amount, b.kind) for b in rows] == [
        (code1, D("100000.00"), None, "bid"), (code2, D("101000.00"), None, "bid")]
    assert rows[1].bidder_id == b2.id and rows[1].placed_at == placed2
    a = db.get(Auction, aid)
    assert (a.current_price, a.bid_count, a.leader_bidder_id, a.leader_code, a.ends_at,
            a.status) == (D("101000.00"), 2, b2.id, code2, ends2, "open")


def test_refusals_are_audited_as_the_locked_path_audits_them(db, actors):
    """Each refusal: the contract's error, one `auction.bid_refused` record as flows.bid
    writes it, nothing else (on PostgreSQL these are refused before any lock is taken)."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201
    db.rollback()
    before = db.get(Auction, aid)
    state = (before.current_price, before.bid_count, before.leader_code, before.ends_at)
    db.rollback()
    cases = [(a2, "100500.00", 422, "not_increment_multiple",
              "bids rise from 100000.00 in whole multiples of 1000.00", {}),
             (a1, "105000.00", 409, "already_leading", "you are already the highest bidder", {}),
             (a2, "100000.00", 409, "bid_too_low", "the lowest acceptable bid is 101000.00",
              {"min_next_bid": "101000.00"})]
    for who, amount, status, code, message, extra in cases:
        r = bid(who, aid, amount)
        assert (r.status_code, r.get_json()) == (
            status, {"error": {"code": code, "message": message, **extra}})
    refused = db.scalars(select(AuditRecord).where(AuditRecord.action == "auction.bid_refused")
                         .order_by(AuditRecord.id)).all()
    assert [(x.actor_id, x.object_id, x.before, x.after) for x in refused] == [
        (who.user["id"], aid, None, encode({"code": code, "amount": D(amount), "max_amount": None}))
        for who, amount, _s, code, _m, _e in cases]
    a = db.get(Auction, aid)
    assert (a.current_price, a.bid_count, a.leader_code, a.ends_at) == state
    assert len(_audit(db, aid)) == 1
    assert len(db.scalars(select(Bid).where(Bid.auction_id == aid)).all()) == 1


@pg_only
def test_the_unlocked_path_decides_all_but_proxy_auctions_and_a_countdowns_first_bid(
        app, db, actors, monkeypatch):
    locked: list[int] = []
    place_bid = engine.place_bid

    def counting(s, auction_id, *args, **kw):
        locked.append(auction_id)
        return place_bid(s, auction_id, *args, **kw)

    monkeypatch.setattr(engine, "place_bid", counting)
    from listings.models import PriorityHolder
    from market.timeutil import utcnow

    op, a1, a2, p = (actors.api("operator"), actors.api("investor"), actors.api("investor"),
                     actors.api("investor"))
    lid, aid = make_auction(db, actors.user("bank"))
    db.add(PriorityHolder(listing_id=lid, org_id=p.user["org_id"], rank=1, basis="co-owner",
                          registered_at=utcnow()))
    db.commit()
    for x in (a1, a2, p):
        qualify(x, op, aid)

    def code(who, amount):
        r = bid(who, aid, amount)
        return r.status_code if r.status_code == 201 else r.get_json()["error"]

    assert code(a1, "100000.00") == 201
    assert code(a2, "102000.00") == 201
    assert code(p, "103000.00") == 201
    assert code(a2, "103000.00") == {"code": "bid_too_low", "min_next_bid": "104000.00",
                                     "message": "the lowest acceptable bid is 104000.00"}
    assert code(p, "104000.00")["code"] == "already_leading"
    assert code(a2, "104500.00")["code"] == "not_increment_multiple"
    assert code(a1, "104000.00") == 201
    assert code(p, "103000.00")["min_next_bid"] == "104000.00"  # a holder may match the top
    assert code(p, "104000.00") == 201  # and does: the priority bid, decided by the same rules
    assert db.scalar(select(Bid.kind).where(Bid.auction_id == aid).order_by(Bid.id.desc())
                     .limit(1)) == "priority"
    move_times(app, aid, ends_in=-1)
    assert code(a2, "106000.00")["code"] == "auction_not_open"
    assert locked == []
    _l2, proxied = make_auction(db, actors.user("bank"), allow_proxy=True)
    qualify(a1, op, proxied)
    assert bid(a1, proxied, "100000.00").status_code == 201
    assert locked == [proxied]


@pg_only
def test_after_repeated_misses_the_locked_path_takes_the_bid(app, db, actors, monkeypatch):
    """Each attempt's guard misses (another bid always came first): after
    SNAPSHOT_ATTEMPTS decisions, the locked path decides and writes once."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201
    parse, attempts = engine._parse, []

    def stale(row):
        user_id, r, raw = parse(row)
        attempts.append(raw["bid_count"])
        return user_id, r, dict(raw, bid_count=raw["bid_count"] - 1)  # as if read before

    monkeypatch.setattr(engine, "_parse", stale)
    r = bid(a2, aid, "101000.00")
    assert r.status_code == 201, r.get_json()
    assert attempts == [1] * engine.SNAPSHOT_ATTEMPTS
    assert [b.amount for b in db.scalars(select(Bid).where(Bid.auction_id == aid)
                                         .order_by(Bid.id))] == [D("100000.00"), D("101000.00")]
    assert len(_audit(db, aid)) == 2


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


@pg_only
def test_bids_answered_before_flask_look_like_flasks_answers(app, db, actors, monkeypatch):
    """BidShortcut answers accepted and refused bids without the view, with the view's
    bodies and Flask's headers; the request id reaches the audit record."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)
    via_flask = a2.post(f"/api/v1/auctions/{aid}/bids", json={"amount": "100000.00"})
    assert via_flask.get_json()["error"]["code"] == "deposit_required"  # no bidder row
    qualify(a2, op, aid)

    view = app.view_functions["auctions_api.place_bid"]
    monkeypatch.setitem(app.view_functions, "auctions_api.place_bid",
                        lambda **kw: pytest.fail("the view was reached"))
    accepted = a1.client.post(f"/api/v1/auctions/{aid}/bids", json={"amount": "100000.00"},
                              headers={**a1.headers, "X-Request-Id": "bid-1"})
    refused = a2.client.post(f"/api/v1/auctions/{aid}/bids", json={"amount": "100000.00"},
                             headers={**a2.headers, "X-Request-Id": "bid-2"})
    assert accepted.status_code == 201 and accepted.get_json()["bid"]["amount"] == "100000.00"
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "bid_too_low")
    for r in (accepted, refused):
        assert sorted(r.headers.keys()) == sorted(via_flask.headers.keys())
        assert r.headers["Content-Type"] == "application/json" and r.data.endswith(b"}\n")
        assert all(r.headers[k] == via_flask.headers[k] for k in
                   ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Vary"))
    assert (accepted.headers["X-Request-Id"], refused.headers["X-Request-Id"]) == ("bid-1", "bid-2")
    assert _audit(db, aid)[0].request_id == "bid-1"
    assert db.scalar(select(AuditRecord.request_id).where(
        AuditRecord.action == "auction.bid_refused", AuditRecord.request_id == "bid-2"))

    # What the statement does not decide reaches the view, which answers as always.
    monkeypatch.setitem(app.view_functions, "auctions_api.place_bid", view)
    url = f"/api/v1/auctions/{aid}/bids"
    r = a2.client.post(url, data='{"amount": "101000.00"}', headers={
        **a2.headers, "Content-Type": "text/plain"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "malformed_json")
    r = a2.post(url, json={"amount": "101000.00", "note": "x"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "validation_error")
    assert op.post(url, json={"amount": "101000.00"}).status_code == 403
    assert bid(a2, 2**31, "101000.00").status_code == 404
    assert bid(a2, aid, "101000.00").status_code == 201


@pg_only
def test_a_failing_statement_is_a_logged_500_in_the_contracts_shape(app, db, actors,
                                                                     monkeypatch):
    op, a1 = actors.api("operator"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)

    def broken(*args, **kw):
        raise RuntimeError("database gone")

    monkeypatch.setattr(engine, "place_plain_bid_pg", broken)
    monkeypatch.setitem(app.config, "TESTING", False)
    r = bid(a1, aid, "100000.00")
    assert (r.status_code, r.get_json()) == (500, {"error": {
        "code": "internal_error", "message": "unexpected error; nothing was changed"}})
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    monkeypatch.setitem(app.config, "TESTING", True)
    with pytest.raises(RuntimeError):
        bid(a1, aid, "100000.00")
