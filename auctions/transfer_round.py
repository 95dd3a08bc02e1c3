"""The auction a listed transfer holds when two or more organisations registered
(API.md "Listed transfer"): the listings package asks for it (its `open_auction`
provider) when the disclosure period ends. Exactly the registered buyers bid: their held
deposits qualify them (each gets a bidder code), and nobody else may pay one
(409 registration_closed). It starts at once at the list price — the disclosure period
was its announcement — with the listing's increment, the operator's soft-close defaults,
and lasts the listing's auction_seconds. No valid bid → the listing is unsold.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from market import settings_store
from market.notifications import notify

from . import rounds
from .deposits import new_code
from .models import AuctionBidder


def open_transfer_auction(session: Session, listing, terms, deposits, now: dt.datetime) -> int:
    a = rounds.create_round(
        session, listing=listing, round_no=rounds._next_round_no(session, listing.id),
        stage="auction", start_price=terms.list_price, increment=terms.increment,
        deposit=terms.deposit, starts_at=now,
        ends_at=now + dt.timedelta(seconds=terms.auction_seconds), now=now,
        reason="transfer.auction")
    # The operator's defaults, not the listing's columns (a transfer sets no soft close).
    a.extension_window_s = settings_store.get(session, "default_extension_window_s")
    a.extension_s = settings_store.get(session, "default_extension_s")
    for dep in deposits:
        # The registration deposit now belongs to the round: it is released, applied or
        # forfeited at the close as any bidder's.
        dep.auction_id = a.id
        session.add(AuctionBidder(auction_id=a.id, user_id=dep.user_id, org_id=dep.org_id,
                                  code=new_code(session, a.id), deposit_id=dep.id,
                                  qualified_at=now))
        session.flush()
        notify(session, dep.user_id, "deposit.held",
               f"挂牌转让竞价 / Transfer auction (#{a.id})", "", link=f"/auctions/{a.id}")
    return a.id
