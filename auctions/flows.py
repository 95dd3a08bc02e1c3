"""Request flows shared by the API and the web page. Like views, these own transactions:
a bid commits (or, refused, rolls back and records the refusal in the audit log); a Stripe
deposit commits its row before calling the gateway and records the answer after.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from market import audit
from market.errors import Conflict, DomainError, NotFound
from market.payments import deposits as payments_deposits
from market.payments.gateway import check_card_limit
from market.payments.models import Deposit
from market.settlement.models import Settlement
from market.timeutil import utcnow

from . import deposits as dep_service
from . import eligibility
from . import engine
from .models import Auction, AuctionBidder, Bid
from .views_model import auction_dict


def public_auction(s: Session, auction_id: int) -> dict:
    return public_auction_and_etag(s, auction_id)[0]


def public_auction_and_etag(s: Session, auction_id: int) -> tuple[dict, str]:
    """The public body and the validator of the very row it was built from."""
    a = s.get(Auction, auction_id)
    if a is None:
        raise NotFound("auction")
    out = auction_dict(a)
    out["server_time"] = utcnow().isoformat()
    return out, auction_etag(a)


# Every column a poller's view of the auction can change through: a bid moves bid_count,
# current_price and the leader; a soft-close extension or an operator's move ends_at; closing
# status, stage and winner. The other fields of the body are fixed once the round exists.
_STATE = (Auction.id, Auction.round, Auction.bid_count, Auction.status, Auction.stage,
          Auction.ends_at, Auction.current_price, Auction.leader_code, Auction.winner_code)


# The same columns for a raw (psycopg, autocommit, prepared) read of the live state.
STATE_SQL = ("SELECT " + ", ".join(c.key for c in _STATE)
             + " FROM auctions WHERE id = %(id)s")


def auction_etag(row) -> str:
    """The (unquoted) tag of a weak validator of the auction's live state (weak: the body
    also carries server_time). `row` is an Auction, or the _STATE values in order (an ORM
    or a raw driver row, which gives money as the stored fen and times in its own zone)."""
    values = [getattr(row, c.key) for c in _STATE] if isinstance(row, Auction) else row
    state = "|".join(_state_text(v) for v in values)
    return "a" + hashlib.blake2b(state.encode(), digest_size=12).hexdigest()


def _state_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, Decimal):  # Money: the stored integer fen
        return str(int(value * 100))
    return str(value)


def current_etag(s: Session | Connection, auction_id: int) -> str:
    """One narrow query, so an unchanged auction is answered 304 without loading the row."""
    row = s.execute(select(*_STATE).where(Auction.id == auction_id)).one_or_none()
    if row is None:
        raise NotFound("auction")
    return auction_etag(tuple(row))


def bid(s: Session, auction_id: int, user, amount: Decimal, max_amount: Decimal | None) -> dict:
    user_id = user.id
    try:
        out = engine.place_bid(s, auction_id, user_id, amount, max_amount)
        s.commit()
        return out
    except DomainError as exc:
        s.rollback()
        if exc.code == "deposit_required":
            exc = _why_not_qualified(s, auction_id, user) or exc
        if exc.status != 404:
            # API.md: refused attempts go to the audit log (the refusal changes nothing else).
            audit.record(s, "auction.bid_refused", "auction", auction_id, actor_id=user_id,
                         after={"code": exc.code, "amount": amount, "max_amount": max_amount})
            s.commit()
        raise exc


def _why_not_qualified(s: Session, auction_id: int, user) -> DomainError | None:
    """A bidder without a code may be one who never can have one: the seller's side or a
    barred buyer's organisation (its deposit, however taken, qualified nobody)."""
    a = s.get(Auction, auction_id)
    try:
        eligibility.check_may_bid(s, a.listing_id, user)
    except DomainError as refused:
        return refused
    finally:
        s.rollback()
    return None


def raise_proxy(s: Session, auction_id: int, user, max_amount: Decimal) -> dict:
    a = s.get(Auction, auction_id, with_for_update=True)
    if a is None:
        raise NotFound("auction")
    if not a.allow_proxy:
        raise DomainError("proxy_not_allowed", "this auction does not allow proxy bidding", 422)
    me = s.scalar(select(AuctionBidder).where(AuctionBidder.auction_id == auction_id,
                                              AuctionBidder.user_id == user.id))
    if me is None or a.leader_bidder_id != me.id:
        raise Conflict("not_leading", "only the leader raises its proxy maximum; bid instead")
    if max_amount <= (me.proxy_max or a.current_price):
        raise Conflict("max_too_low", "a new maximum must be higher than the present one")
    me.proxy_max, me.proxy_set_at = max_amount, utcnow()
    audit.record(s, "auction.proxy_raised", "auction", a.id, actor_id=user.id,
                 after={"bidder_code": me.code})
    return auction_dict(a)


def deposit(s: Session, config, auction_id: int, user, method: str) -> dict:
    payments_deposits.check_method(method, config)
    dep = dep_service.start_deposit(s, auction_id, user, method)
    if method == "stripe":
        check_card_limit(dep.amount, config)  # refused: the error handler rolls back
    s.commit()
    if method != "stripe":
        return payments_deposits.deposit_dict(dep)
    return payments_deposits.hold_by_card(s, config, dep)


def viewer_status(s: Session, auction_id: int, user) -> dict:
    """What the live block shows the viewer: deposit, bidder code, leading or outbid."""
    a = s.get(Auction, auction_id)
    if a is None:
        raise NotFound("auction")
    out = {"auction_id": a.id, "server_time": utcnow().isoformat(), "logged_in": user is not None,
           "role": getattr(user, "role", None), "deposit": None, "bidder_code": None,
           "leading": False, "outbid": False, "won": False, "deposit_amount": f"{a.deposit_amount:.2f}"}
    if user is None:
        return out
    dep = s.scalar(select(Deposit).where(Deposit.auction_id == a.id, Deposit.user_id == user.id)
                   .order_by(Deposit.id.desc()))
    if dep is not None:
        out["deposit"] = payments_deposits.deposit_dict(dep)
    me = s.scalar(select(AuctionBidder).where(AuctionBidder.auction_id == a.id,
                                              AuctionBidder.user_id == user.id))
    if me is not None:
        out["bidder_code"] = me.code
        out["leading"] = a.leader_bidder_id == me.id

        has_bid = s.scalar(select(Bid.id).where(Bid.auction_id == a.id,
                                                Bid.bidder_id == me.id).limit(1))
        out["has_bid"] = bool(has_bid)
        out["outbid"] = bool(has_bid) and not out["leading"]
        out["won"] = a.winner_bidder_id == me.id
        if out["won"]:
            st = s.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{a.id}"))
            if st is not None:
                out["balance_due"] = f"{st.balance_due:.2f}"
                out["balance_due_by"] = st.balance_due_by.isoformat() if st.balance_due_by else None
                out["settlement_status"] = st.status
        out["proxy_max"] = None if me.proxy_max is None else f"{me.proxy_max:.2f}"
    return out
