"""Handlers of the hooks other packages fire (market/hooks.py)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from market import audit, lifecycle
from market.errors import Conflict
from market.notifications import notify
from market.payments import deposits as payments_deposits
from market.payments.models import Deposit
from market.timeutil import utcnow

from . import deposits, eligibility, listing_link, rounds
from .closing import after_backstop_default, forfeits_to_debt
from .models import Auction, AuctionBidder


def on_listing_published(session, listing, now=None):
    """Round 1 from the listing's terms: open at once if its start has passed."""
    rounds.first_round(session, listing, now or utcnow())


def on_before_withdraw(session, listing):
    """A listing whose auction has bids cannot be withdrawn (409 listing_has_bids)."""
    if listing.auction_id is None:
        return
    count = session.scalar(select(Auction.bid_count).where(Auction.id == listing.auction_id))
    if count:
        raise Conflict("listing_has_bids", "the auction already has bids")


def on_listing_closed(session, listing, reason=None):
    """Withdrawn or unpublished: cancel live rounds and release their deposits. A withdrawn
    listing will not be sold again, so deposits forfeited on it go to the debt now (an
    unpublished one may come back, and its re-sale applies them)."""
    now = utcnow()
    if reason == "withdrawn":
        forfeits_to_debt(session, current_app, listing, now)
    for a in session.scalars(select(Auction).where(Auction.listing_id == listing.id,
                                                   Auction.status.in_(("scheduled", "open")))
                             .with_for_update()):
        lifecycle.move(session, a, "cancelled", reason=reason or "listing closed",
                       after={"reason": reason or "listing closed"},
                       closed_at=now, outcome="cancelled")
        for d in session.scalars(select(Deposit).where(Deposit.auction_id == a.id,
                                                       Deposit.status.in_(payments_deposits.LIVE))):
            deposits.release(session, d, now, "cancelled")


def _auction_of(session, settlement) -> Auction | None:
    ref = settlement.sale_ref or ""
    if not ref.startswith("auction:"):
        return None
    return session.get(Auction, int(ref.split(":", 1)[1]), with_for_update=True)


def on_settlement_settled(session, settlement):
    """The price is paid: the listing is settled; the winner's deposit was applied."""
    a = _auction_of(session, settlement)
    if a is None:
        return
    listing = listing_link.get(session, a.listing_id)
    dep = _winner_deposit(session, a)
    if dep is not None:
        payments_deposits.apply_to_price(session, dep, utcnow())
    listing_link.transition(session, listing, "settled", reason=f"settlement {settlement.id}")


def _winner_deposit(session, a: Auction) -> Deposit | None:
    if a.winner_user_id is None:
        return None
    return session.scalar(select(Deposit).where(
        Deposit.auction_id == a.id, Deposit.user_id == a.winner_user_id,
        Deposit.status.in_(("held", "applied"))))


def on_settlement_defaulted(session, settlement):
    """悔拍 (法释〔2016〕18号): the deposit is forfeited, the defaulter barred from the
    re-sale, and a new round is scheduled."""
    a = _auction_of(session, settlement)
    if a is None or a.outcome in ("defaulted", "backstop_defaulted"):
        return
    now = utcnow()
    listing = listing_link.get(session, a.listing_id)
    if a.outcome == "backstop":
        _backstop_defaulted(session, settlement, a, listing, now)
        return
    dep = _winner_deposit(session, a)
    if dep is not None:
        payments_deposits.forfeit(session, dep, now)
    if a.winner_user_id is not None:
        eligibility.bar_org(session, a.listing_id, settlement.buyer_org_id, a.winner_user_id,
                            f"defaulted on auction {a.id}", now)
        notify(session, a.winner_user_id, "auction.defaulted",
               f"违约悔拍 / Default on auction #{a.id}",
               "保证金不予退还 / The deposit is forfeited", link=f"/auctions/{a.id}")
    a.outcome = "defaulted"
    audit.record(session, "auction.defaulted", "auction", a.id,
                 after={"winner_code": a.winner_code, "settlement_id": settlement.id})
    if listing.mode == "transfer":  # a listed transfer is relisted by its seller
        listing_link.transition(session, listing, "unsold",
                                reason=f"winner of auction {a.id} defaulted")
        return
    listing_link.transition(session, listing, "published", reason=f"winner of auction {a.id} defaulted")
    rounds.resale(session, listing, a, now)


def on_deposit_confirmed(session, dep, actor_id, now):
    """The money of a round's deposit is in: hold it and qualify the bidder with a code."""
    if dep.auction_id is not None:
        deposits.mark_held(session, dep, actor_id=actor_id, now=now)


def _backstop_defaulted(session, settlement, a: Auction, listing, now) -> None:
    """托底式收购 unpaid by balance_due_by: the fund is barred like a defaulting buyer
    (法释〔2016〕18号 art. 24) and the listing goes to the next round, with its cut, its
    notice running from the deadline (API.md "Backstop purchase")."""
    eligibility.bar_org(session, listing.id, settlement.buyer_org_id,
                        listing.backstop_accepted_by, f"backstop unpaid on auction {a.id}", now)
    a.outcome = "backstop_defaulted"
    audit.record(session, "auction.backstop_defaulted", "auction", a.id,
                 after={"org_id": settlement.buyer_org_id, "settlement_id": settlement.id})
    listing_link.transition(session, listing, "published",
                            reason=f"backstop fund of auction {a.id} did not pay")
    after_backstop_default(session, current_app, a, listing, settlement.balance_due_by or now)


def on_priority_holder_registered(session, listing, holder):
    """A holder registered after it qualified gets its rank in the live round at once."""
    if listing.auction_id is None:
        return
    for bidder in session.scalars(select(AuctionBidder).where(
            AuctionBidder.auction_id == listing.auction_id,
            AuctionBidder.org_id == holder.org_id)):
        bidder.priority_rank = holder.rank
