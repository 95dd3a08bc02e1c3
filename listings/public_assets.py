"""The assets public listing pages show: their asset records are readable by every
signed-in user through the API too (market/assets/access.py asks through the hook
`asset.public_ids`; market's core does not import listings)."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .models import Listing, ListingAsset
from .services import PUBLIC_STATUSES


def public_asset_ids(session: Session) -> Select:
    """A query of the ids of assets in listings the public sees."""
    return (select(ListingAsset.asset_id)
            .join(Listing, Listing.id == ListingAsset.listing_id)
            .where(Listing.status.in_(PUBLIC_STATUSES)))
