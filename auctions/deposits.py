"""Deposits: paying one qualifies a bidder, who gets an anonymous code for that auction.

Source: 法释〔2016〕18号 — deposit 5–20% of the starting price; paying it qualifies a
bidder with an anonymous code; losers' deposits are released at the close (within 24 h);
the winner's counts toward the price; a defaulting winner's is forfeited.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from market import audit
from market.errors import Conflict, Invalid, NotFound
from market.notifications import notify
from market.timeutil import utcnow

from . import eligibility
from .models import Auction, AuctionBidder, Deposit

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud without doubt
LIVE = ("pending", "held")


class _Payer(NamedTuple):
    id: int
    org_id: int


def _ledger():
    from market.settlement import ledger

    return ledger


def new_code(session: Session, auction_id: int) -> str:
    taken = set(session.scalars(select(AuctionBidder.code)
                                .where(AuctionBidder.auction_id == auction_id)))
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if code not in taken:
            return code


def start_deposit(session: Session, auction_id: int, user, method: str) -> Deposit:
    """Create the deposit row (pending). Offline: an operator confirms it against the bank
    statement by its reference. Stripe: the caller commits, then asks the gateway."""
    auction = session.get(Auction, auction_id, with_for_update=True)
    if auction is None:
        raise NotFound("auction")
    now = utcnow()
    # API.md Conventions: refusals that depend on the caller (403) before state (409).
    eligibility.check_may_bid(session, auction.listing_id, user)
    if auction.status not in ("scheduled", "open") or now >= auction.ends_at:
        raise Conflict("auction_not_open", "deposits are taken while the auction is scheduled or open")
    existing = session.scalar(select(Deposit).where(
        Deposit.auction_id == auction_id, Deposit.user_id == user.id,
        Deposit.status.in_(LIVE)))
    if existing is not None:
        raise Conflict("deposit_exists", "you already have a deposit for this auction")
    dep = Deposit(auction_id=auction_id, user_id=user.id, org_id=user.org_id,
                  amount=auction.deposit_amount, currency=auction.currency, method=method,
                  status="pending", reference="DEP" + secrets.token_hex(5).upper(),
                  idempotency_key=f"deposit-{auction_id}-{user.id}-{uuid.uuid4().hex}",
                  created_at=now)
    session.add(dep)
    session.flush()
    audit.record(session, "deposit.created", "deposit", dep.id, actor_id=user.id,
                 after={"auction_id": auction_id, "amount": dep.amount, "method": method,
                        "reference": dep.reference})
    return dep


def mark_held(session: Session, dep: Deposit, *, actor_id: int | None,
              now: dt.datetime | None = None) -> AuctionBidder:
    """The money is in: hold it in the ledger and qualify the bidder with a code."""
    now = now or utcnow()
    if dep.status != "pending":
        raise Conflict("deposit_not_pending", f"the deposit is {dep.status}")
    # The auction row's lock serialises qualifications (one code per bidder, codes unique).
    auction = session.get(Auction, dep.auction_id, with_for_update=True)
    # A deposit taken before its payer's organisation became the seller's side or barred
    # gives no bidder code (拍卖法 art. 30, 法释〔2016〕18号 art. 24).
    eligibility.check_may_bid(session, auction.listing_id,
                              _Payer(dep.user_id, dep.org_id))
    dep.status, dep.held_at, dep.confirmed_by = "held", now, actor_id
    _ledger().record_deposit_held(session, dep.id, dep.amount, dep.org_id)
    bidder = session.scalar(select(AuctionBidder).where(
        AuctionBidder.auction_id == dep.auction_id, AuctionBidder.user_id == dep.user_id))
    if bidder is None:
        from listings.models import PriorityHolder

        rank = session.scalar(select(PriorityHolder.rank).where(
            PriorityHolder.listing_id == auction.listing_id,
            PriorityHolder.org_id == dep.org_id))
        bidder = AuctionBidder(auction_id=dep.auction_id, user_id=dep.user_id,
                               org_id=dep.org_id, code=new_code(session, dep.auction_id),
                               deposit_id=dep.id, priority_rank=rank, qualified_at=now)
        session.add(bidder)
    else:
        bidder.deposit_id = dep.id
    session.flush()
    audit.record(session, "deposit.held", "deposit", dep.id, actor_id=actor_id,
                 before={"status": "pending"},
                 after={"status": "held", "bidder_code": bidder.code})
    notify(session, dep.user_id, "deposit.held",
           f"保证金已到账 / Deposit received (#{dep.auction_id})",
           f"竞买号 / Your bidder code: {bidder.code}", link=f"/auctions/{dep.auction_id}")
    return bidder


def confirm_offline(session: Session, deposit_id: int, actor_id: int) -> Deposit:
    dep = session.get(Deposit, deposit_id, with_for_update=True)
    if dep is None:
        raise NotFound("deposit")
    if dep.method != "offline":
        raise Conflict("not_offline", "only offline deposits are confirmed by an operator")
    mark_held(session, dep, actor_id=actor_id)
    return dep


def release(session: Session, dep: Deposit, now: dt.datetime, reason: str) -> None:
    """Losers' deposits (and all of a failed or cancelled round). Offline money goes back by
    bank transfer now; a Stripe hold is cancelled by the release job, outside any
    transaction (released_at stays empty until the gateway confirms)."""
    if dep.status == "pending":
        dep.status = "cancelled"
        audit.record(session, "deposit.cancelled", "deposit", dep.id,
                     before={"status": "pending"}, after={"status": "cancelled", "reason": reason})
        return
    if dep.status != "held":
        return
    from market import settings_store

    hours = settings_store.get(session, "deposit_release_hours")
    dep.status = "released"
    dep.release_due_at = now + dt.timedelta(hours=hours)
    if dep.method == "offline":
        dep.released_at = now
        # The bank transfer back is an operator's job: queued, due within the release hours.
        from market.payments.refunds import request_refund

        request_refund(session, dep.org_id, dep.amount, f"deposit released ({reason})",
                       f"deposit:{dep.id}", currency=dep.currency, due_at=dep.release_due_at)
    _ledger().record_deposit_released(session, dep.id, dep.amount, dep.org_id)
    audit.record(session, "deposit.released", "deposit", dep.id,
                 before={"status": "held"}, after={"status": "released", "reason": reason})
    notify(session, dep.user_id, "deposit.released",
           f"保证金已退还 / Deposit released (#{dep.auction_id})",
           f"{dep.amount} {dep.currency}", link="/my/bids")


def forfeit(session: Session, dep: Deposit, now: dt.datetime) -> None:
    """悔拍: the defaulting winner's deposit is forfeited (applied by settlement to the re-sale's
    costs, then any shortfall, then the debt)."""
    if dep.status not in ("held", "applied"):
        return
    before = dep.status
    dep.status, dep.forfeited_at = "forfeited", now
    _ledger().record_deposit_forfeited(session, dep.id, dep.amount, dep.org_id)
    audit.record(session, "deposit.forfeited", "deposit", dep.id,
                 before={"status": before}, after={"status": "forfeited"})


def deposit_dict(dep: Deposit, client_secret: str | None = None) -> dict:
    out = {"id": dep.id, "auction_id": dep.auction_id, "status": dep.status,
           "amount": f"{dep.amount:.2f}", "currency": dep.currency, "method": dep.method,
           "reference": dep.reference}
    if client_secret:
        out["client_secret"] = client_secret
    return out


def check_method(method: str, config) -> None:
    if method not in ("offline", "stripe"):
        raise Invalid("invalid_method", "method must be offline or stripe")
    if method == "stripe" and not config.get("STRIPE_SECRET_KEY"):
        raise Invalid("method_unavailable", "card payments (Stripe) are not configured")
