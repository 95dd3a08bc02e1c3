"""The bid path: one short transaction, the auction row locked, Core statements only.

PostgreSQL: `SELECT … FOR UPDATE` (auction + this bidder + the leader in one row), then a
single statement whose CTEs update the auction and insert the bids, the audit record and
any notifications; the caller commits. SQLite: the request's BEGIN IMMEDIATE already
serialises writers, and the writes go as a few plain statements.

Rules (法释〔2016〕18号, API.md "Auctions"): amounts on the increment grid; open means
starts_at ≤ server time < ends_at; a deposit qualifies; a leader cannot outbid itself;
first bid ≥ start price, then current + increment, except that a registered priority
holder may match the current price and wins that tie (better rank first); a bid inside
the soft-close window moves the close to placed_at + extension_s. Proxy bidding
(eBay-style, ties to the earlier maximum) where the listing allows it.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from market.audit import AuditRecord
from market.errors import Conflict, Forbidden, Invalid, NotFound
from market.money import to_minor
from market.notifications import Notification
from market.timeutil import utcnow

from .models import Auction, AuctionBidder, Bid
from .views_model import auction_dict, is_open_at

A = Auction.__table__
AB = AuctionBidder.__table__
B = Bid.__table__
AUD = AuditRecord.__table__
NOTE = Notification.__table__

_COLUMNS = (A.c.id, A.c.listing_id, A.c.round, A.c.stage, A.c.status, A.c.currency,
            A.c.start_price, A.c.increment, A.c.deposit_amount, A.c.reserve_price,
            A.c.starts_at, A.c.ends_at, A.c.extension_window_s, A.c.extension_s,
            A.c.allow_proxy, A.c.current_price, A.c.bid_count, A.c.leader_bidder_id,
            A.c.leader_code, A.c.winner_code)


@dataclass
class Placed:
    amount: Decimal
    bidder_id: int
    code: str
    kind: str  # bid, proxy, priority
    max_amount: Decimal | None = None


def floor_to_step(value: Decimal, start: Decimal, inc: Decimal) -> Decimal:
    return start + ((value - start) // inc) * inc


LOCK_AUCTION = select(*_COLUMNS).where(A.c.id == bindparam("aid")).with_for_update()
# This user's bidder row and the leader's, read by a statement of their own: one that
# started before the lock was granted would see them as they were then (READ COMMITTED),
# e.g. no proxy maximum, or no row at all for a leader qualified while it waited.
BIDDER_ROWS = (select(AB.c.id, AB.c.code, AB.c.user_id, AB.c.priority_rank, AB.c.proxy_max)
               .where(or_(and_(AB.c.auction_id == bindparam("aid"),
                               AB.c.user_id == bindparam("uid")),
                          AB.c.id == bindparam("lid"))))


def _locked_row(session: Session, auction_id: int, user_id: int) -> dict | None:
    """The auction (locked), with this user's bidder row and the leader's."""
    conn = session.connection()  # Core on the session's connection, statements compiled once
    auction = conn.execute(LOCK_AUCTION, {"aid": auction_id}).mappings().first()
    if auction is None:
        return None
    r = dict(auction, me_id=None, me_code=None, me_rank=None, leader_user_id=None,
             leader_rank=None, leader_max=None)
    lid = auction["leader_bidder_id"]
    for b in conn.execute(BIDDER_ROWS, {"aid": auction_id, "uid": user_id, "lid": lid}):
        if b.user_id == user_id:  # both branches keep to this auction
            r.update(me_id=b.id, me_code=b.code, me_rank=b.priority_rank)
        if b.id == lid:
            r.update(leader_user_id=b.user_id, leader_rank=b.priority_rank,
                     leader_max=b.proxy_max)
    return r


def _resolve(r, amount: Decimal, max_amount: Decimal | None) -> tuple[list[Placed], int, str, Decimal]:
    """The bids this attempt writes (in order), and the resulting leader and price."""
    start, inc, current = r["start_price"], r["increment"], r["current_price"]
    me, code = r["me_id"], r["me_code"]
    c_top = floor_to_step(max(max_amount or amount, amount), start, inc)
    if current is None or r["leader_bidder_id"] is None:
        return [Placed(amount, me, code, "bid", max_amount)], me, code, amount
    leader, lcode = r["leader_bidder_id"], r["leader_code"]
    l_max = current
    if r["allow_proxy"] and r["leader_max"] is not None:
        l_max = max(current, floor_to_step(r["leader_max"], start, inc))
    me_rank, l_rank = r["me_rank"], r["leader_rank"]
    wins_tie = me_rank is not None and (l_rank is None or me_rank < l_rank)
    kind = "priority" if (wins_tie and amount == current) else "bid"
    if c_top > l_max or (c_top == l_max and wins_tie):
        placed: list[Placed] = []
        if l_max > current:  # the leader's proxy goes to its maximum first
            placed.append(Placed(l_max, leader, lcode, "proxy"))
        final = max(amount, l_max if wins_tie else min(c_top, l_max + inc))
        placed.append(Placed(final, me, code, kind, max_amount))
        return placed, me, code, final
    # The leader's maximum holds: the challenger's bid stands in the log, the proxy answers.
    l_final = l_max if c_top == l_max else min(l_max, c_top + inc)
    return ([Placed(c_top, me, code, kind, max_amount), Placed(l_final, leader, lcode, "proxy")],
            leader, lcode, l_final)


def check_and_resolve(r, amount: Decimal, max_amount: Decimal | None, now: dt.datetime):
    """The checks of API.md in their order; returns what to write (nothing is written here)."""
    start, inc = r["start_price"], r["increment"]
    if (amount - start) % inc != 0:
        raise Invalid("not_increment_multiple",
                      f"bids rise from {start} in whole multiples of {inc}")
    if max_amount is not None:
        if not r["allow_proxy"]:
            raise Invalid("proxy_not_allowed", "this auction does not allow proxy bidding")
        if max_amount < amount:
            raise Invalid("invalid_max_amount", "max_amount must be at least the amount")
    if not is_open_at(r["status"], r["starts_at"], r["ends_at"], now):
        raise Conflict("auction_not_open", "the auction is not open for bids now")
    if r["me_id"] is None:
        raise Forbidden("deposit_required", "pay the deposit first to bid in this auction")
    if r["leader_bidder_id"] == r["me_id"]:
        raise Conflict("already_leading", "you are already the highest bidder")
    current = r["current_price"]
    if current is None:
        minimum = start
    else:
        minimum = current + inc
        me_rank, l_rank = r["me_rank"], r["leader_rank"]
        if me_rank is not None and (l_rank is None or me_rank < l_rank):
            minimum = current  # a priority holder may match the top bid (优先购买权)
    if amount < minimum:
        raise Conflict("bid_too_low", f"the lowest acceptable bid is {minimum}",
                       min_next_bid=f"{minimum:.2f}")
    return _resolve(r, amount, max_amount)


def _new_ends_at(session: Session, r, now: dt.datetime) -> dt.datetime:
    ends = r["ends_at"]
    if r["stage"] == "fixed_price" and r["bid_count"] == 0:
        from market import settings_store  # rare path: the first bid of a 变卖 stage

        ends = now + dt.timedelta(seconds=settings_store.get(session, "fixed_price_countdown_s"))
    if now >= ends - dt.timedelta(seconds=r["extension_window_s"]):
        ends = max(ends, now + dt.timedelta(seconds=r["extension_s"]))
    return ends


def _notes(r, placed: list[Placed], leader_id: int, me_user: int, ends: dt.datetime,
           now: dt.datetime) -> list[dict]:
    """Who to tell: the bidder who lost the lead (or the challenger a proxy beat)."""
    link = f"/auctions/{r['id']}"
    if leader_id == r["me_id"]:
        loser = r["leader_user_id"]  # None on the first bid
    else:
        loser = me_user
    if loser is None:
        return []
    price = placed[-1].amount
    notes = [dict(user_id=loser, kind="auction.outbid", link=link, created_at=now,
                  subject=f"您的出价已被超过 / You have been outbid (#{r['id']})",
                  body=f"当前价 / Current price: {price}")]
    if ends != r["ends_at"]:
        notes.append(dict(user_id=loser, kind="auction.extended", link=link, created_at=now,
                          subject=f"拍卖延时 / Auction extended (#{r['id']})",
                          body=f"新截止时间 / New close: {ends.isoformat()}"))
    return notes


def _audit_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def place_bid(session: Session, auction_id: int, user_id: int, amount: Decimal,
              max_amount: Decimal | None = None) -> dict:
    """Place a bid; returns {bid, auction} as API.md shows it. The caller commits."""
    r = _locked_row(session, auction_id, user_id)
    if r is None:
        raise NotFound("auction")
    now = utcnow()  # after the lock: server time at the moment the bid is decided
    placed, leader_id, leader_code, price = check_and_resolve(r, amount, max_amount, now)
    ends = _new_ends_at(session, r, now)
    mine = next(p for p in placed if p.bidder_id == r["me_id"])
    new_max = max_amount if (max_amount is not None and leader_id == r["me_id"]) else None
    audit_row = dict(at=now, actor_id=user_id, action="auction.bid", object_type="auction",
                     object_id=auction_id,
                     before=_audit_json({"current_price": r["current_price"],
                                         "leader_code": r["leader_code"],
                                         "ends_at": r["ends_at"]}),
                     after=_audit_json({"bids": [[p.code, p.amount, p.kind] for p in placed],
                                        "current_price": price, "leader_code": leader_code,
                                        "ends_at": ends}),
                     request_id=session.info.get("request_id"))
    notes = _notes(r, placed, leader_id, user_id, ends, now)
    values = dict(current_price=price, bid_count=r["bid_count"] + len(placed),
                  leader_bidder_id=leader_id, leader_code=leader_code, ends_at=ends)
    if session.connection().dialect.name == "postgresql":
        _write_pg(session, auction_id, values, placed, now, audit_row, notes)
    else:
        session.execute(update(A).where(A.c.id == auction_id).values(status="open", **values))
        session.execute(insert(B), [dict(auction_id=auction_id, bidder_id=p.bidder_id,
                                         bidder_code=p.code, amount=p.amount,
                                         max_amount=p.max_amount, kind=p.kind, placed_at=now)
                                    for p in placed])
        session.execute(insert(AUD), [audit_row])
        if notes:
            session.execute(insert(NOTE), notes)
    if new_max is not None:
        session.execute(update(AB).where(AB.c.id == r["me_id"])
                        .values(proxy_max=new_max, proxy_set_at=now))
    state = dict(r)
    state.update(values, status="open")
    return {"bid": {"amount": f"{mine.amount:.2f}", "bidder_code": mine.code,
                    "placed_at": now.isoformat()},
            "auction": auction_dict(state)}


def _write_pg(session: Session, auction_id: int, values: dict, placed: list[Placed],
              now: dt.datetime, audit_row: dict, notes: list[dict]) -> None:
    """One statement: update the auction, insert bids, audit and notifications (CTEs)."""
    p: dict = {"aid": auction_id, "price": to_minor(values["current_price"]),
               "n": len(placed), "lb": values["leader_bidder_id"], "lc": values["leader_code"],
               "ends": values["ends_at"], "now": now,
               "a_actor": audit_row["actor_id"], "a_before": audit_row["before"],
               "a_after": audit_row["after"], "a_rid": audit_row["request_id"]}
    for i, b in enumerate(placed):
        p[f"b{i}"], p[f"c{i}"], p[f"m{i}"], p[f"a{i}"], p[f"k{i}"] = (
            b.bidder_id, b.code, None if b.max_amount is None else to_minor(b.max_amount),
            to_minor(b.amount), b.kind)
    for i, n in enumerate(notes):
        p[f"nu{i}"], p[f"nk{i}"], p[f"ns{i}"], p[f"nb{i}"], p[f"nl{i}"] = (
            n["user_id"], n["kind"], n["subject"], n["body"], n["link"])
    session.connection().execute(_write_statement(len(placed), len(notes)), p)


@functools.lru_cache(maxsize=32)
def _write_statement(n_bids: int, n_notes: int):
    """The statement depends only on how many bids and notes it writes: build and parse
    each shape once per process, not on every bid."""
    rows = [f"(CAST(:b{i} AS integer), CAST(:c{i} AS varchar), CAST(:a{i} AS bigint),"
            f" CAST(:m{i} AS bigint), CAST(:k{i} AS varchar))" for i in range(n_bids)]
    sql = ["WITH u AS (UPDATE auctions SET status = 'open', current_price = :price,"
           " bid_count = bid_count + :n, leader_bidder_id = :lb, leader_code = :lc,"
           " ends_at = :ends WHERE id = :aid RETURNING id),",
           " b AS (INSERT INTO bids (auction_id, bidder_id, bidder_code, amount, max_amount,"
           " kind, placed_at) SELECT u.id, v.bidder_id, v.code, v.amount, v.max_amount, v.kind,"
           " :now FROM u, (VALUES " + ", ".join(rows) + ") AS v(bidder_id, code, amount,"
           " max_amount, kind) RETURNING id)"]
    for i in range(n_notes):
        sql.append(f", n{i} AS (INSERT INTO notifications (user_id, kind, subject, body, link,"
                   f" created_at) SELECT :nu{i}, :nk{i}, :ns{i}, :nb{i}, :nl{i}, :now FROM u)")
    sql.append(" INSERT INTO audit_records (at, actor_id, action, object_type, object_id,"
               " before, after, request_id) SELECT :now, :a_actor, 'auction.bid', 'auction',"
               " u.id, :a_before, :a_after, :a_rid FROM u")
    return text("".join(sql))
