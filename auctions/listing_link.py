"""What auctions need from the listings package, in one place."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from listings.lifecycle import transition as listing_transition
from listings.models import Listing, ListingAsset
from listings.parties import pledgor_org_id
from listings.services import disposal_costs_total


def get(session: Session, listing_id: int) -> Listing:
    return session.get(Listing, listing_id, options=[lazyload(Listing.assets)])


def transition(session: Session, listing: Listing, to_status: str, *, reason: str) -> None:
    """Move the listing through its lifecycle table (listings.lifecycle); no-op if there."""
    if listing.status == to_status:
        return
    listing_transition(session, listing, to_status, actor_id=session.info.get("actor_id"),
                       reason=reason)


def asset_ids(session: Session, listing_id: int) -> list[int]:
    return list(session.scalars(select(ListingAsset.asset_id)
                                .where(ListingAsset.listing_id == listing_id)
                                .order_by(ListingAsset.position, ListingAsset.id)))


def disposal_costs(session: Session, listing_id: int) -> Decimal:
    return disposal_costs_total(session, listing_id)


def pledgor_of(session: Session, listing: Listing) -> int | None:
    """The pledgor's organisation: the borrower of the defaulted loan the listing disposes of."""
    return pledgor_org_id(session, listing)