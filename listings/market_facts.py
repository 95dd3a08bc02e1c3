"""What market data (market/marketdata) asks of a sold listing: its mode and assets."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Listing, ListingAsset


def listing_facts(session: Session, listing_ids: list[int]) -> dict[int, dict]:
    facts = {lid: {"mode": mode, "asset_ids": []} for lid, mode in session.execute(
        select(Listing.id, Listing.mode).where(Listing.id.in_(listing_ids)))}
    for lid, asset_id in session.execute(
            select(ListingAsset.listing_id, ListingAsset.asset_id)
            .where(ListingAsset.listing_id.in_(listing_ids))
            .order_by(ListingAsset.listing_id, ListingAsset.position, ListingAsset.id)):
        facts[lid]["asset_ids"].append(asset_id)
    return facts
