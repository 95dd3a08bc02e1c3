"""An auction's deposit rules: who may pay one, and what paying admits one to — an
anonymous bidder code for that auction. The deposit itself (its states, its money, the
Stripe holds) is the core's: market/payments/deposits.py.

Source: 法释〔2016〕18号 — deposit 5–20% of the starting price; paying it qualifies a
bidder with an anonymous code; a winner who defaulted may not bid in the re-sale.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from listings.models import PriorityHolder
from market.errors import Conflict, NotFound
from market.notifications import notify
from market.payments import deposits as payments_deposits
from market.payments.models import Deposit
from market.timeutil import utcnow

from . import eligibility, listing_link
from .models import Auction, AuctionBidder

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud without doubt
MY_BIDS = "/my/bids"  # where a bidder follows its deposits


class _Payer(NamedTuple):
    id: int
    org_id: int


def new_code(session: Session, auction_id: int) -> str:
    taken = set(session.scalars(select(AuctionBidder.code)
                                .where(AuctionBidder.auction_id == auction_id)))
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if code not in taken:
            return code


def start_deposit(session: Session, auction_id: int, user, method: str) -> Deposit:
    """A pending deposit for a round that is scheduled or open, by a payer not barred
    from the listing's re-sale."""
    auction = session.get(Auction, auction_id, with_for_update=True)
    if auction is None:
        raise NotFound("auction")
    # API.md Conventions: refusals that depend on the caller (403) before state (409).
    eligibility.check_may_bid(session, auction.listing_id, user)
    if listing_link.get(session, auction.listing_id).mode == "transfer":
        raise Conflict("registration_closed",
                       "only the buyers registered in the disclosure period take part")
    if auction.status not in ("scheduled", "open") or utcnow() >= auction.ends_at:
        raise Conflict("auction_not_open", "deposits are taken while the auction is scheduled or open")
    return payments_deposits.start(session, listing_id=auction.listing_id, auction_id=auction_id,
                                   user=user, amount=auction.deposit_amount,
                                   currency=auction.currency, method=method)


def mark_held(session: Session, dep: Deposit, *, actor_id: int | None,
              now: dt.datetime | None = None) -> AuctionBidder:
    """The money is in: hold it and qualify the bidder with a code."""
    now = now or utcnow()
    if dep.status != "pending":
        raise Conflict("deposit_not_pending", f"the deposit is {dep.status}")
    # The auction row's lock serialises qualifications (one code per bidder, codes unique).
    auction = session.get(Auction, dep.auction_id, with_for_update=True)
    # A deposit taken before its payer's organisation became the seller's side or barred
    # gives no bidder code (拍卖法 art. 30, 法释〔2016〕18号 art. 24).
    eligibility.check_may_bid(session, auction.listing_id, _Payer(dep.user_id, dep.org_id))
    bidder = session.scalar(select(AuctionBidder).where(
        AuctionBidder.auction_id == dep.auction_id, AuctionBidder.user_id == dep.user_id))
    if bidder is None:
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
    payments_deposits.hold(session, dep, actor_id=actor_id, now=now,
                           detail={"bidder_code": bidder.code})
    notify(session, dep.user_id, "deposit.held",
           f"保证金已到账 / Deposit received (#{dep.auction_id})",
           f"竞买号 / Your bidder code: {bidder.code}", link=f"/auctions/{dep.auction_id}")
    return bidder


def release(session: Session, dep: Deposit, now: dt.datetime, reason: str) -> None:
    payments_deposits.release(session, dep, now, reason, link=MY_BIDS)
