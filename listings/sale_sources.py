"""What the core asks of listings about sales and the assets listings hold
(market/providers.py declares the questions; init_app answers them)."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from market.providers import SaleSource

from market.settlement.models import Settlement

from .models import Listing, ListingAsset
from .services import ACTIVE_STATUSES


def sale_sources() -> FromClause:
    """(id, mode) of every listing: settlement's recovery figures group by mode."""
    return select(Listing.id, Listing.mode).subquery("sale_sources")


def describe(session: Session, source_id: int) -> SaleSource | None:
    row = session.execute(select(Listing.mode, Listing.title)
                          .where(Listing.id == source_id)).first()
    return None if row is None else SaleSource(row.mode, source_id, row.title)


def asset_in_live_listing(session: Session, asset_ids: Sequence[int]) -> int | None:
    """A listing that holds one of these assets now (the statuses that keep an asset from
    being listed again), or None."""
    if not asset_ids:
        return None
    return session.scalar(
        select(Listing.id).join(ListingAsset, ListingAsset.listing_id == Listing.id)
        .where(ListingAsset.asset_id.in_(list(asset_ids)),
               Listing.status.in_(ACTIVE_STATUSES)).order_by(Listing.id).limit(1))


def assets_sold_by(session: Session, seller_org_id: int, asset_ids: Sequence[int],
                   since: dt.datetime) -> set[int]:
    """Those of `asset_ids` sold in a listing of `seller_org_id` created at or after
    `since`: the listing's sale is settled (the price paid), whatever its own status says
    yet (the settlement.settled handlers may still be moving it)."""
    if not asset_ids:
        return set()
    return set(session.scalars(
        select(ListingAsset.asset_id).join(Listing, Listing.id == ListingAsset.listing_id)
        .join(Settlement, Settlement.listing_id == Listing.id)
        .where(ListingAsset.asset_id.in_(list(asset_ids)),
               Listing.seller_org_id == seller_org_id, Listing.created_at >= since,
               Settlement.seller_org_id == seller_org_id, Settlement.status == "settled")))
