"""The bid path: one short transaction, the auction row locked, Core statements only.

The rules are written once (check_and_resolve and decide); two paths read and write.
PostgreSQL: most bids read a snapshot, decide, and write with one guarded statement in
autocommit (place_plain_bid_pg, at the end). The rest take the locked path, place_bid:
`SELECT … FOR UPDATE` of the auction, this bidder's and the leader's rows, then a single
statement whose CTEs update the auction and insert the bids, the audit record and any
notifications; the caller commits. SQLite: the request's BEGIN IMMEDIATE already
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
from dataclasses import dataclass
from decimal import Decimal

from psycopg.types.numeric import Int4
from sqlalchemy import and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from market.accounts.services import TOKEN_USER_SQL
from market import audit, lifecycle, settings_store
from market.audit import AuditRecord
from market.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from market.money import from_minor, to_minor
from market.notifications import Notification
from market.timeutil import as_utc, utcnow

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


def refusal(code: str, start: Decimal, inc: Decimal, minimum: Decimal | None = None):
    """A refusal of API.md's bid checks as the bidder sees it (both bid paths raise these)."""
    if code == "not_increment_multiple":
        return Invalid(code, f"bids rise from {start} in whole multiples of {inc}")
    if code == "auction_not_open":
        return Conflict(code, "the auction is not open for bids now")
    if code == "already_leading":
        return Conflict(code, "you are already the highest bidder")
    if code == "bid_too_low":
        return Conflict(code, f"the lowest acceptable bid is {minimum}",
                        min_next_bid=f"{minimum:.2f}")
    raise ValueError(code)


def check_and_resolve(r, amount: Decimal, max_amount: Decimal | None, now: dt.datetime):
    """The checks of API.md in their order; returns what to write (nothing is written here)."""
    start, inc = r["start_price"], r["increment"]
    if (amount - start) % inc != 0:
        raise refusal("not_increment_multiple", start, inc)
    if max_amount is not None:
        if not r["allow_proxy"]:
            raise Invalid("proxy_not_allowed", "this auction does not allow proxy bidding")
        if max_amount < amount:
            raise Invalid("invalid_max_amount", "max_amount must be at least the amount")
    if not is_open_at(r["status"], r["starts_at"], r["ends_at"], now):
        raise refusal("auction_not_open", start, inc)
    if r["me_id"] is None:
        raise Forbidden("deposit_required", "pay the deposit first to bid in this auction")
    if r["leader_bidder_id"] == r["me_id"]:
        raise refusal("already_leading", start, inc)
    current = r["current_price"]
    if current is None:
        minimum = start
    else:
        minimum = current + inc
        me_rank, l_rank = r["me_rank"], r["leader_rank"]
        if me_rank is not None and (l_rank is None or me_rank < l_rank):
            minimum = current  # a priority holder may match the top bid (优先购买权)
    if amount < minimum:
        raise refusal("bid_too_low", start, inc, minimum)
    return _resolve(r, amount, max_amount)


def _countdown_starts(r) -> bool:
    """The first bid of a fixed-price stage (变卖) starts its countdown."""
    return r["stage"] == "fixed_price" and r["bid_count"] == 0


def _new_ends_at(r, now: dt.datetime, countdown_s: int | None) -> dt.datetime:
    ends = r["ends_at"]
    if countdown_s is not None:
        ends = now + dt.timedelta(seconds=countdown_s)
    if now >= ends - dt.timedelta(seconds=r["extension_window_s"]):
        ends = max(ends, now + dt.timedelta(seconds=r["extension_s"]))
    return ends


OUTBID_SUBJECT = "您的出价已被超过 / You have been outbid (#{id})"
OUTBID_BODY = "当前价 / Current price: {price}"
EXTENDED_SUBJECT = "拍卖延时 / Auction extended (#{id})"
EXTENDED_BODY = "新截止时间 / New close: "  # + the new close, ISO 8601


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
                  subject=OUTBID_SUBJECT.format(id=r["id"]),
                  body=OUTBID_BODY.format(price=price))]
    if ends != r["ends_at"]:
        notes.append(dict(user_id=loser, kind="auction.extended", link=link, created_at=now,
                          subject=EXTENDED_SUBJECT.format(id=r["id"]),
                          body=EXTENDED_BODY + ends.isoformat()))
    return notes


@dataclass
class Decision:
    """An accepted bid: what to write, and the answer (API.md's BidOut)."""
    placed: list[Placed]
    values: dict  # the auction's new current_price, bid_count, leader, ends_at
    audit_row: dict
    notes: list[dict]
    new_max: Decimal | None  # the bidder's new proxy maximum, if it set one and leads
    out: dict


def decide(r, user_id: int, amount: Decimal, max_amount: Decimal | None, now: dt.datetime,
           countdown_s: int | None, request_id: str | None) -> Decision:
    """The bid rules, once, for both bid paths: `r` is the auction as the path read it
    (with this user's bidder row and the leader's). Raises the refusal; writes nothing."""
    placed, leader_id, leader_code, price = check_and_resolve(r, amount, max_amount, now)
    ends = _new_ends_at(r, now, countdown_s)
    mine = next(p for p in placed if p.bidder_id == r["me_id"])
    new_max = max_amount if (max_amount is not None and leader_id == r["me_id"]) else None
    audit_row = dict(at=now, actor_id=user_id, action="auction.bid", object_type="auction",
                     object_id=r["id"],
                     before=audit.encode({"current_price": r["current_price"],
                                          "leader_code": r["leader_code"],
                                          "ends_at": r["ends_at"]}),
                     after=audit.encode({"bids": [[p.code, p.amount, p.kind] for p in placed],
                                         "current_price": price, "leader_code": leader_code,
                                         "ends_at": ends}),
                     request_id=request_id)
    values = dict(current_price=price, bid_count=r["bid_count"] + len(placed),
                  leader_bidder_id=leader_id, leader_code=leader_code, ends_at=ends)
    state = dict(r)
    state.update(values, status="open")
    out = {"bid": {"amount": f"{mine.amount:.2f}", "bidder_code": mine.code,
                   "placed_at": now.isoformat()},
           "auction": auction_dict(state)}
    return Decision(placed, values, audit_row, _notes(r, placed, leader_id, user_id, ends, now),
                    new_max, out)


def place_bid(session: Session, auction_id: int, user_id: int, amount: Decimal,
              max_amount: Decimal | None = None) -> dict:
    """Place a bid; returns {bid, auction} as API.md shows it. The caller commits."""
    r = _locked_row(session, auction_id, user_id)
    if r is None:
        raise NotFound("auction")
    now = utcnow()  # after the lock: server time at the moment the bid is decided
    countdown_s = None
    if _countdown_starts(r):
        countdown_s = settings_store.get(session, "fixed_price_countdown_s")
    d = decide(r, user_id, amount, max_amount, now, countdown_s,
               session.info.get("request_id"))
    if r["status"] == "scheduled":
        # The start has come before the opening sweep: the first bid opens the round
        # (the row is locked, so the move cannot lose a race).
        lifecycle.move(session, session.get(Auction, auction_id), "open", actor_id=user_id,
                       reason="first bid after the start")
    if session.connection().dialect.name == "postgresql":
        session.connection().execute(_write_statement(len(d.placed), len(d.notes), False),
                                     _write_params(auction_id, d, now))
    else:
        session.execute(update(A).where(A.c.id == auction_id).values(**d.values))
        session.execute(insert(B), [dict(auction_id=auction_id, bidder_id=p.bidder_id,
                                         bidder_code=p.code, amount=p.amount,
                                         max_amount=p.max_amount, kind=p.kind, placed_at=now)
                                    for p in d.placed])
        session.execute(insert(AUD), [d.audit_row])
        if d.notes:
            session.execute(insert(NOTE), d.notes)
    if d.new_max is not None:
        session.execute(update(AB).where(AB.c.id == r["me_id"])
                        .values(proxy_max=d.new_max, proxy_set_at=now))
    return d.out


def _write_params(auction_id: int, d: Decision, now: dt.datetime) -> dict:
    values, audit_row = d.values, d.audit_row
    p: dict = {"aid": auction_id, "price": to_minor(values["current_price"]),
               "n": len(d.placed), "lb": values["leader_bidder_id"], "lc": values["leader_code"],
               "ends": values["ends_at"], "now": now,
               "a_actor": audit_row["actor_id"], "a_before": audit_row["before"],
               "a_after": audit_row["after"], "a_rid": audit_row["request_id"]}
    for i, b in enumerate(d.placed):
        p[f"b{i}"], p[f"c{i}"], p[f"m{i}"], p[f"a{i}"], p[f"k{i}"] = (
            b.bidder_id, b.code, None if b.max_amount is None else to_minor(b.max_amount),
            to_minor(b.amount), b.kind)
    for i, n in enumerate(d.notes):
        p[f"nu{i}"], p[f"nk{i}"], p[f"ns{i}"], p[f"nb{i}"], p[f"nl{i}"] = (
            n["user_id"], n["kind"], n["subject"], n["body"], n["link"])
    return p


# The guard of the unlocked path's write (place_plain_bid_pg): the auction row still as it
# was read, in everything the decision read from it and that can change while it is open.
_GUARD = (" AND bid_count = {g_count} AND status = {g_status} AND starts_at = {g_starts}"
          " AND ends_at = {g_ends} AND leader_bidder_id IS NOT DISTINCT FROM"
          " CAST({g_leader} AS integer) AND NOT allow_proxy")


@functools.lru_cache(maxsize=64)
def _write_statement(n_bids: int, n_notes: int, guarded: bool):
    """One statement: update the auction, insert bids, audit and notifications (CTEs).
    It depends only on how many bids and notes it writes and on which path runs it: built
    and parsed once per process for each shape. The locked path runs it through SQLAlchemy
    (`:name`); the unlocked one, guarded, on a raw psycopg cursor (`%(name)s`), and learns
    from the audit row's id whether the guard held."""
    ph = (lambda name: f"%({name})s") if guarded else (lambda name: f":{name}")
    # Rows go in with ORDER BY their position: ids follow the order the bids were placed
    # and the notes were written (the CTEs themselves run in no set order).
    rows = [f"({i}, CAST({ph(f'b{i}')} AS integer), CAST({ph(f'c{i}')} AS varchar),"
            f" CAST({ph(f'a{i}')} AS bigint), CAST({ph(f'm{i}')} AS bigint),"
            f" CAST({ph(f'k{i}')} AS varchar))" for i in range(n_bids)]
    guard = _GUARD.format(**{k: ph(k) for k in ("g_count", "g_status", "g_starts", "g_ends",
                                                 "g_leader")}) if guarded else ""
    sql = [f"WITH u AS (UPDATE auctions SET current_price = {ph('price')},"
           f" bid_count = bid_count + {ph('n')}, leader_bidder_id = {ph('lb')},"
           f" leader_code = {ph('lc')}, ends_at = {ph('ends')} WHERE id = {ph('aid')}{guard}"
           " RETURNING id),",
           " b AS (INSERT INTO bids (auction_id, bidder_id, bidder_code, amount, max_amount,"
           f" kind, placed_at) SELECT u.id, v.bidder_id, v.code, v.amount, v.max_amount, v.kind,"
           f" {ph('now')} FROM u, (VALUES " + ", ".join(rows) + ") AS v(pos, bidder_id, code,"
           " amount, max_amount, kind) ORDER BY v.pos RETURNING id)"]
    if n_notes:
        notes = [f"({i}, CAST({ph(f'nu{i}')} AS integer), CAST({ph(f'nk{i}')} AS varchar),"
                 f" CAST({ph(f'ns{i}')} AS varchar), CAST({ph(f'nb{i}')} AS text),"
                 f" CAST({ph(f'nl{i}')} AS varchar))" for i in range(n_notes)]
        sql.append(", n AS (INSERT INTO notifications (user_id, kind, subject, body, link,"
                   " created_at) SELECT w.user_id, w.kind, w.subject, w.body, w.link,"
                   f" {ph('now')} FROM u, (VALUES " + ", ".join(notes) + ") AS w(pos, user_id,"
                   " kind, subject, body, link) ORDER BY w.pos)")
    audit_insert = (" INSERT INTO audit_records (at, actor_id, action, object_type, object_id,"
                    f" before, after, request_id) SELECT {ph('now')}, {ph('a_actor')},"
                    f" 'auction.bid', 'auction', u.id, {ph('a_before')}, {ph('a_after')},"
                    f" {ph('a_rid')} FROM u")
    if not guarded:
        return text("".join(sql) + audit_insert)
    # With the audit row's id (None: the guard missed), the snapshot as this statement
    # sees it, for the next decision without another round trip.
    return ("".join(sql) + ", w AS (" + audit_insert + " RETURNING id)"
            " SELECT w.id, s.* FROM (SELECT 1) one LEFT JOIN w ON true"
            " LEFT JOIN (" + _LOCKED_SNAPSHOT_SQL + ") s ON true")


# PostgreSQL: most bids are decided without holding the auction's lock across round trips.
# place_plain_bid_pg reads a snapshot of the auction, this bidder's row and the leader's
# (one statement), decides with `decide` — the rules above, the same code the locked path
# runs — and writes with one guarded statement: the auction row is updated only if it is
# still as read (_GUARD), and the bids, notes and audit record go with it or not at all.
# On a miss (another bid came first) it decides again on the snapshot the missed write
# statement returned (the auction row as that statement's lock found it); after a few
# misses, a leader the returned snapshot cannot see yet, or
# for what the snapshot cannot decide alone (proxy auctions, whose leader maximum can change
# without the auction row; a fixed-price stage's first bid, which reads a setting; a token
# that is not an active investor's with a bidder row here), the locked path takes the bid.
# Ranks of priority holders are read as of the snapshot: they change only by registration,
# which the auction's lock does not order with bids either.

SNAPSHOT_ATTEMPTS = 3
_SNAPSHOT_KEYS = tuple(c.name for c in _COLUMNS) + ("me_id", "me_code", "me_rank",
                                                     "leader_user_id", "leader_rank")
_MONEY = ("start_price", "increment", "deposit_amount", "reserve_price", "current_price")
_TIMES = ("starts_at", "ends_at")
_SNAPSHOT = f"""
WITH tok AS ({TOKEN_USER_SQL})
SELECT tok.id, tok.role, {", ".join("a." + c.name for c in _COLUMNS)},
    me.id, me.code, me.priority_rank, ld.user_id, ld.priority_rank
FROM tok JOIN auction_bidders me ON me.user_id = tok.id AND me.auction_id = %(aid)s
JOIN (SELECT * FROM auctions WHERE id = %(aid)s{{lock}}) a ON a.id = me.auction_id
LEFT JOIN auction_bidders ld ON ld.id = a.leader_bidder_id
"""
SNAPSHOT_SQL = _SNAPSHOT.format(lock="")
# Inside the guarded write: the auction row as the lock leaves it (a write that missed
# because another was committing waits for it and sees its result, not this statement's
# older snapshot). The same lock the UPDATE takes, so two writers never wait on each other.
_LOCKED_SNAPSHOT_SQL = _SNAPSHOT.format(lock=" FOR NO KEY UPDATE")
REFUSAL_SQL = ("INSERT INTO audit_records (at, actor_id, action, object_type, object_id,"
               " before, after, request_id) VALUES (%(at)s, %(actor)s, 'auction.bid_refused',"
               " 'auction', %(aid)s, NULL, %(after)s, %(rid)s) RETURNING id")


def _parse(row) -> tuple[int, dict, dict] | None:
    """A SNAPSHOT_SQL row → (user id, the auction as `decide` reads it, the raw values the
    guard compares), or None when the locked path must take the bid."""
    if row is None or row[0] is None or row[1] != "investor":
        return None
    raw = dict(zip(_SNAPSHOT_KEYS, row[2:]))
    if raw["allow_proxy"] or _countdown_starts(raw):
        return None
    if raw["leader_bidder_id"] is not None and raw["leader_user_id"] is None:
        return None  # a leader qualified after this statement began: the locked path sees it
    r = dict(raw, leader_max=None)
    for k in _MONEY:
        if r[k] is not None:
            r[k] = from_minor(r[k])
    for k in _TIMES:
        r[k] = as_utc(r[k])
    return row[0], r, raw


def place_plain_bid_pg(db, auction_id: int, digest: str, amount: Decimal,
                       request_id: str | None) -> dict | None:
    """A plain bid (no proxy maximum) without the locked path: {bid, auction} as place_bid
    returns it; a refusal raised as place_bid raises it (audited as flows.bid audits it);
    None when it wrote nothing and the locked path must take the bid. Each statement
    commits by itself; a write whose guard missed brings the next snapshot with it."""
    keys = {"digest": digest, "aid": Int4(auction_id)}
    row = db.fetch_one_autocommit(SNAPSHOT_SQL, keys)
    for _attempt in range(SNAPSHOT_ATTEMPTS):
        seen = _parse(row)
        if seen is None:
            return None
        user_id, r, raw = seen
        now = utcnow()
        try:
            d = decide(r, user_id, amount, None, now, None, request_id)
        except DomainError as exc:
            db.fetch_one_autocommit(REFUSAL_SQL, {
                "at": utcnow(), "actor": user_id, "aid": auction_id, "rid": request_id,
                "after": audit.encode({"code": exc.code, "amount": amount, "max_amount": None})})
            raise
        if raw["status"] != "open":
            # The start came before the opening sweep: the locked path opens the round
            # through market.lifecycle, with its transition row.
            return None
        params = _write_params(auction_id, d, now)
        params.update(keys, g_count=raw["bid_count"], g_status=raw["status"],
                      g_starts=raw["starts_at"], g_ends=raw["ends_at"],
                      g_leader=raw["leader_bidder_id"])
        written = db.fetch_one_autocommit(
            _write_statement(len(d.placed), len(d.notes), True), params)
        if written[0] is not None:
            return d.out
        row = written[1:]
    return None
