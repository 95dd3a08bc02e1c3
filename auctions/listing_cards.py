"""What listings show of an auction on its cards and detail page: the answer auctions
gives to listings.browse.auction_rounds (registered in init_app)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from listings.browse import RoundFigures

from .models import Auction


def round_figures(session: Session, auction_ids: list[int]) -> dict[int, RoundFigures]:
    """listing id → figures of the rounds with these ids."""
    rows = session.execute(select(Auction.id, Auction.listing_id, Auction.status,
                                  Auction.current_price, Auction.start_price,
                                  Auction.ends_at, Auction.bid_count)
                           .where(Auction.id.in_(auction_ids))).all()
    return {r.listing_id: RoundFigures(r.status, r.current_price, r.start_price, r.ends_at,
                                       r.bid_count or 0) for r in rows}


def live_rounds():
    """The rounds table as listings' browse filters and sorts by it (live_rounds)."""
    return Auction.__table__
