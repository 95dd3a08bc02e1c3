"""The listing query behind GET /api/v1/listings and the browse page: visibility,
search, filters, sort. Also the current round's figures for cards: auctions answers
`auction_rounds` (a provider, market/providers.py), so listings never imports auctions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql import FromClause

from market.accounts.models import User
from market.providers import Provider
from market.timeutil import utcnow

from . import search
from .models import Listing
from .services import default_status_clause, visibility_clause

SORTS = ("newest", "price_asc", "price_desc", "closing")


@dataclass
class Filters:
    q: str | None = None
    mode: str | None = None
    kind: str | None = None
    classification: str | None = None
    status: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    closing_within_h: int | None = None
    sort: str = "newest"
    mine: bool = False


def price_column():
    return func.coalesce(Listing.start_price, Listing.ask_price)


class LiveRounds(Protocol):
    def __call__(self) -> FromClause:
        """A selectable of rounds with columns id, current_price, start_price, ends_at."""


# auctions answers it: the rounds a listing's auction_id names, to filter and sort by.
live_rounds: Provider[LiveRounds] = Provider("listings.live_rounds")


def _live_round():
    """The rounds' selectable (auctions' answer), or None with no auctions installed."""
    answer = live_rounds.get()
    return answer() if answer is not None else None


def live_price_column(rnd):
    """What a card shows: the live round's current price, else its start price (a re-auction
    starts lower than round 1), else the listing's own price."""
    return func.coalesce(rnd.c.current_price, rnd.c.start_price, Listing.start_price,
                         Listing.ask_price)


def listing_stmt(session: Session, user: User | None, f: Filters):
    stmt = select(Listing).options(defer(Listing.search_text))
    vis = visibility_clause(user)
    if vis is not None:
        stmt = stmt.where(vis)
    if f.status:
        stmt = stmt.where(Listing.status == f.status)
    elif f.mine and user is not None:
        stmt = stmt.where(Listing.seller_org_id == user.org_id)
    else:
        default = default_status_clause(user)
        if default is not None:
            stmt = stmt.where(default)
    if f.mine and user is not None:
        stmt = stmt.where(Listing.seller_org_id == user.org_id)
    # IP kind and classification are tokens of search_text too: one GIN lookup for all.
    clause = search.match(session, f.q, f.kind, f.classification)
    if clause is not None:
        stmt = stmt.where(clause)
    if f.mode:
        stmt = stmt.where(Listing.mode == f.mode)
    # Price and closing time are the live round's (after an extension or a re-auction
    # round 1's terms are stale); the round is joined only when they are asked for.
    price, ends_at = price_column(), Listing.ends_at
    rnd = _live_round()
    if rnd is not None and (f.min_price is not None or f.max_price is not None
                            or f.closing_within_h or f.sort != "newest"):
        stmt = stmt.outerjoin(rnd, rnd.c.id == Listing.auction_id)
        price = live_price_column(rnd)
        ends_at = func.coalesce(rnd.c.ends_at, Listing.ends_at)
    if f.min_price is not None:
        stmt = stmt.where(price >= f.min_price)
    if f.max_price is not None:
        stmt = stmt.where(price <= f.max_price)
    if f.closing_within_h:
        now = utcnow()
        stmt = stmt.where(ends_at > now, ends_at <= now + dt.timedelta(hours=f.closing_within_h))
    if f.sort == "price_asc":
        stmt = stmt.order_by(price.asc().nulls_last(), Listing.id.desc())
    elif f.sort == "price_desc":
        stmt = stmt.order_by(price.desc().nulls_last(), Listing.id.desc())
    elif f.sort == "closing":
        stmt = stmt.order_by(ends_at.asc().nulls_last(), Listing.id.desc())
    else:
        # Plain DESC (PostgreSQL: NULLS FIRST) so the published_at index can be walked
        # backwards; the public only sees published rows, which all have the date.
        stmt = stmt.order_by(Listing.published_at.desc(), Listing.id.desc())
    return stmt


@dataclass
class RoundFigures:
    status: str
    current_price: Decimal | None
    start_price: Decimal
    ends_at: dt.datetime
    bid_count: int


class AuctionRounds(Protocol):
    def __call__(self, session: Session, auction_ids: list[int]) -> dict[int, RoundFigures]:
        """listing id → figures of the rounds with these ids."""


auction_rounds: Provider[AuctionRounds] = Provider("listings.auction_rounds")


def round_figures(session: Session, listings: list[Listing]) -> dict[int, RoundFigures]:
    """listing id → figures of its current auction round (for cards and the detail page)."""
    rounds = auction_rounds.get()
    ids = [lst.auction_id for lst in listings if lst.auction_id]
    if rounds is None or not ids:
        return {}
    return rounds(session, ids)
