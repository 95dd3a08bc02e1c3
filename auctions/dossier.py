"""What auctions contribute to a loan's due-diligence dossier (hooks "loan.dossier"):
the rounds of each listing of the loan, the whole bid log with each bidder, and the
deposits (who paid, who confirmed)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from listings.models import Listing

from market.payments.models import Deposit

from .models import Auction, AuctionBidder, Bid


def loan_dossier(session: Session, loan) -> dict:
    auctions = list(session.scalars(
        select(Auction).join(Listing, Listing.id == Auction.listing_id)
        .where(Listing.loan_id == loan.id).order_by(Auction.id)))
    ids = [a.id for a in auctions]
    events = []
    for a in auctions:
        events.append({"at": a.created_at, "section": "auction", "actor_id": None,
                       "text": f"Auction #{a.id} (listing #{a.listing_id}, round {a.round}, "
                               f"{a.stage}): start {a.start_price:,.2f}, "
                               f"{a.starts_at:%Y-%m-%d %H:%M} – {a.ends_at:%Y-%m-%d %H:%M} UTC"})
        if a.closed_at is not None:
            price = f", price {a.current_price:,.2f}" if a.current_price is not None else ""
            winner = f", winner {a.winner_code}" if a.winner_code else ""
            events.append({"at": a.closed_at, "section": "auction", "actor_id": None,
                           "text": f"Auction #{a.id} closed: {a.outcome}{price}{winner}"})
    if ids:
        bids = session.execute(
            select(Bid, AuctionBidder.user_id).join(AuctionBidder,
                                                    AuctionBidder.id == Bid.bidder_id)
            .where(Bid.auction_id.in_(ids)).order_by(Bid.id))
        for bid, user_id in bids:
            events.append({"at": bid.placed_at, "section": "bid", "actor_id": user_id,
                           "text": f"Bid on auction #{bid.auction_id} by {bid.bidder_code}: "
                                   f"{bid.amount:,.2f} ({bid.kind})"})
        for d in session.scalars(select(Deposit).where(Deposit.auction_id.in_(ids))
                                 .order_by(Deposit.id)):
            events.append({"at": d.created_at, "section": "auction", "actor_id": d.user_id,
                           "text": f"Deposit #{d.id} for auction #{d.auction_id}: "
                                   f"{d.amount:,.2f} ({d.method}), now {d.status}"})
            if d.held_at is not None:
                events.append({"at": d.held_at, "section": "auction",
                               "actor_id": d.confirmed_by,
                               "text": f"Deposit #{d.id} held (ref {d.reference})"})
    deposit_ids = [d for d in session.scalars(select(Deposit.id).where(
        Deposit.auction_id.in_(ids)))] if ids else []
    return {"events": events,
            "audit_objects": [("auction", i) for i in ids]
            + [("deposit", i) for i in deposit_ids],
            "ledger_refs": [("deposit", i) for i in deposit_ids]}
