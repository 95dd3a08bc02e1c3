"""The bid path: one short transaction, the auction row locked, Core statements only.

PostgreSQL: most bids are one statement (PLAIN_BID_SQL, at the end) that locks, checks
and writes, or refuses, in autocommit. The rest take the locked path, place_bid:
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
import json
from dataclasses import dataclass
from decimal import Decimal

from psycopg.types.numeric import Int4, Int8
from sqlalchemy import and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from market.accounts.services import TOKEN_USER_SQL
from market import lifecycle
from market.audit import AuditRecord
from market.errors import Conflict, Forbidden, Invalid, NotFound
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


def _new_ends_at(session: Session, r, now: dt.datetime) -> dt.datetime:
    ends = r["ends_at"]
    if r["stage"] == "fixed_price" and r["bid_count"] == 0:
        from market import settings_store  # rare path: the first bid of a 变卖 stage

        ends = now + dt.timedelta(seconds=settings_store.get(session, "fixed_price_countdown_s"))
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
    if r["status"] == "scheduled":
        # The start has come before the opening sweep: the first bid opens the round
        # (the row is locked, so the move cannot lose a race).
        lifecycle.move(session, session.get(Auction, auction_id), "open", actor_id=user_id,
                       reason="first bid after the start")
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
        session.execute(update(A).where(A.c.id == auction_id).values(**values))
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
    sql = ["WITH u AS (UPDATE auctions SET current_price = :price,"
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


# PostgreSQL: the common bid in one statement, run in autocommit, so the auction row stays
# locked for that statement and its commit only (the locked path above holds it across
# three more round trips and the Python between them). On the row as locked, and by the
# database's clock read after the lock (the locked path reads this server's: one clock on
# one host, NTP-close otherwise), the statement runs API.md's checks in their order, then
# - refuses: writes only the refusal's audit record (as flows.bid does after its rollback),
# - accepts a bid that resolves to one plain bid at its amount — no proxy bidding, not the
#   first bid of a fixed-price stage, at least current + increment (a priority holder
#   bidding that much resolves to the same plain bid) — writing what place_bid writes,
# - or leaves the decision to the locked path (verdict NULL) and writes nothing: proxy and
#   priority resolution, a fixed-price stage's first bid, a round still `scheduled` after
#   its start (the locked path opens it through market.lifecycle), and a leader whose bidder row
#   this statement cannot see (qualified while it waited for the lock). No row at all (a
#   token that is not an active investor's, no bidder row, no auction): the request goes
#   the whole way, so 401/403/404 and deposit_required come as before.
# The bidder rows are read as of the statement's start: their user ids never change, and
# ranks change only by registration, which the auction's lock does not order with bids.

def _str_ts(col: str, sep: str) -> str:
    """SQL for Python's str() (sep ' ') or isoformat() (sep 'T') of an aware UTC datetime."""
    return (f"(to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"{sep}\"HH24:MI:SS')"
            f" || CASE to_char({col}, 'US') WHEN '000000' THEN ''"
            f" ELSE '.' || to_char({col}, 'US') END || '+00:00')")


def _str_money(col: str) -> str:
    """SQL for str() of the Decimal a Money column (integer fen, never negative) holds."""
    return f"(({col}) / 100 || '.' || lpad(mod({col}, 100)::text, 2, '0'))"


_FAST_COLUMNS = ("id", "listing_id", "round", "stage", "status", "currency", "start_price",
                 "increment", "deposit_amount", "reserve_price", "starts_at", "ends_at",
                 "extension_window_s", "extension_s", "allow_proxy", "current_price",
                 "bid_count", "leader_code", "winner_code")
_FAST_MONEY = ("start_price", "increment", "deposit_amount", "reserve_price", "current_price")
_IS_OPEN = "t.status IN ('scheduled', 'open') AND t.starts_at <= t.now AND t.now < t.ends_at"

PLAIN_BID_SQL = f"""
WITH tok AS ({TOKEN_USER_SQL}),
me AS (
    SELECT b.id, b.code, b.priority_rank, tok.id AS user_id
    FROM auction_bidders b JOIN tok ON b.user_id = tok.id
    WHERE b.auction_id = %(aid)s AND tok.role = 'investor'),
l AS MATERIALIZED (
    SELECT {", ".join(c for c in _FAST_COLUMNS if c != "leader_code")},
           leader_bidder_id, leader_code
    FROM auctions WHERE id = %(aid)s AND EXISTS (SELECT FROM me) FOR UPDATE),
t AS MATERIALIZED (SELECT l.*, clock_timestamp() AS now FROM l),
ld AS (SELECT b.user_id, b.priority_rank FROM auction_bidders b JOIN t ON b.id = t.leader_bidder_id),
v AS MATERIALIZED (
    SELECT t.*, me.id AS me_id, me.code AS me_code, me.user_id, ld.user_id AS loser, m.minimum,
        CASE WHEN t.increment <= 0 THEN NULL
             WHEN mod(%(amt)s - t.start_price, t.increment) <> 0 THEN 'not_increment_multiple'
             WHEN NOT ({_IS_OPEN}) THEN 'auction_not_open'
             WHEN t.leader_bidder_id = me.id THEN 'already_leading'
             WHEN t.leader_bidder_id IS NOT NULL AND ld.user_id IS NULL THEN NULL
             WHEN %(amt)s < m.minimum THEN 'bid_too_low'
             WHEN t.status <> 'open' THEN NULL
             WHEN NOT t.allow_proxy AND NOT (t.stage = 'fixed_price' AND t.bid_count = 0)
                  AND %(amt)s >= coalesce(t.current_price + t.increment, t.start_price)
                 THEN 'accepted'
        END AS verdict
    FROM t CROSS JOIN me LEFT JOIN ld ON true
    CROSS JOIN LATERAL (SELECT CASE
        WHEN t.current_price IS NULL THEN t.start_price
        WHEN me.priority_rank IS NOT NULL
             AND (ld.priority_rank IS NULL OR me.priority_rank < ld.priority_rank)
            THEN t.current_price
        ELSE t.current_price + t.increment END AS minimum) m),
u AS (
    UPDATE auctions a SET current_price = %(amt)s,
        bid_count = v.bid_count + 1, leader_bidder_id = v.me_id, leader_code = v.me_code,
        ends_at = CASE WHEN v.now >= v.ends_at - make_interval(secs => v.extension_window_s)
                       THEN greatest(v.ends_at, v.now + make_interval(secs => v.extension_s))
                       ELSE v.ends_at END
    FROM v WHERE a.id = v.id AND v.verdict = 'accepted'
    RETURNING {", ".join("a." + c for c in _FAST_COLUMNS)}),
b AS (
    INSERT INTO bids (auction_id, bidder_id, bidder_code, amount, max_amount, kind, placed_at)
    SELECT v.id, v.me_id, v.me_code, %(amt)s, NULL, 'bid', v.now FROM u, v),
n AS (
    INSERT INTO notifications (user_id, kind, subject, body, link, created_at)
    SELECT v.loser, x.kind, x.subject, x.body, %(link)s, v.now
    FROM u, v CROSS JOIN LATERAL (VALUES
        (1, 'auction.outbid', %(outbid_subject)s, %(outbid_body)s, true),
        (2, 'auction.extended', %(extended_subject)s,
         %(extended_body)s || {_str_ts("u.ends_at", "T")}, u.ends_at <> v.ends_at)
    ) AS x(position, kind, subject, body, wanted)
    WHERE v.loser IS NOT NULL AND x.wanted ORDER BY x.position),
accepted AS (
    INSERT INTO audit_records (at, actor_id, action, object_type, object_id, before, after,
                               request_id)
    SELECT v.now, v.user_id, 'auction.bid', 'auction', v.id,
        '{{"current_price": '
        || coalesce('"' || {_str_money("v.current_price")} || '"', 'null')
        || ', "ends_at": "' || {_str_ts("v.ends_at", " ")}
        || '", "leader_code": ' || coalesce(to_json(v.leader_code)::text, 'null') || '}}',
        '{{"bids": [[' || to_json(v.me_code)::text || ', "' || %(amount)s || '", "bid"]], '
        || '"current_price": "' || %(amount)s || '", "ends_at": "' || {_str_ts("u.ends_at", " ")}
        || '", "leader_code": ' || to_json(v.me_code)::text || '}}',
        %(request_id)s
    FROM u, v),
refused AS (
    INSERT INTO audit_records (at, actor_id, action, object_type, object_id, before, after,
                               request_id)
    SELECT v.now, v.user_id, 'auction.bid_refused', 'auction', v.id, NULL,
        '{{"amount": "' || %(amount)s || '", "code": "' || v.verdict
        || '", "max_amount": null}}', %(request_id)s
    FROM v WHERE v.verdict <> 'accepted')
SELECT v.verdict, v.minimum, v.start_price, v.increment, v.now,
    {", ".join("u." + c for c in _FAST_COLUMNS)}
FROM v LEFT JOIN u ON true
"""


def place_plain_bid_pg(db, auction_id: int, digest: str, amount: Decimal,
                       request_id: str | None) -> dict | None:
    """The bid as one statement (see above): {bid, auction} as place_bid returns it; a
    refusal raised as check_and_resolve raises it; None when it wrote nothing and the
    locked path must decide. The statement commits by itself."""
    row = db.fetch_one_autocommit(
        PLAIN_BID_SQL,
        {"digest": digest, "aid": Int4(auction_id), "amt": Int8(to_minor(amount)),
         "amount": str(amount), "request_id": request_id, "link": f"/auctions/{auction_id}",
         "outbid_subject": OUTBID_SUBJECT.format(id=auction_id),
         "outbid_body": OUTBID_BODY.format(price=amount),
         "extended_subject": EXTENDED_SUBJECT.format(id=auction_id),
         "extended_body": EXTENDED_BODY})
    if row is None or row[0] is None:
        return None
    verdict, minimum, start, inc, now = row[:5]
    if verdict != "accepted":
        raise refusal(verdict, from_minor(start), from_minor(inc), from_minor(minimum))
    state = dict(zip(_FAST_COLUMNS, row[5:]))
    for k in _FAST_MONEY:
        if state[k] is not None:
            state[k] = from_minor(state[k])
    return {"bid": {"amount": f"{amount:.2f}", "bidder_code": state["leader_code"],
                    "placed_at": as_utc(now).isoformat()},
            "auction": auction_dict(state)}
