"""What auctions need from the listings package, in one place."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from listings.models import Listing, ListingCost


def get(session: Session, listing_id: int) -> Listing:
    from sqlalchemy.orm import lazyload

    return session.get(Listing, listing_id, options=[lazyload(Listing.assets)])


def transition(session: Session, listing: Listing, to_status: str, *, reason: str) -> None:
    """Move the listing through its lifecycle table (listings.lifecycle); no-op if there."""
    if listing.status == to_status:
        return
    from listings.lifecycle import transition as _transition

    _transition(session, listing, to_status, actor_id=session.info.get("actor_id"),
                reason=reason)


def disposal_costs(session: Session, listing_id: int) -> Decimal:
    try:
        from listings.services import disposal_costs_total
    except ImportError:  # listings.services not there yet: the same sum, read directly
        return sum(session.scalars(select(ListingCost.amount)
                                   .where(ListingCost.listing_id == listing_id)), Decimal("0.00"))
    return disposal_costs_total(session, listing_id)


def pledgor_of(session: Session, listing: Listing) -> int | None:
    """The pledgor's organisation: the borrower of the defaulted loan the listing disposes of."""
    if listing.loan_id is None:
        return None
    from market.lending.models import Loan

    loan = session.get(Loan, listing.loan_id)
    return loan.borrower_org_id if loan else None
