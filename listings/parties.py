"""Who stands on the selling side of a listing: the seller and, for collateral, the pledgor
(the borrower of the defaulted loan). They may not buy, bid, offer or register for it
(拍卖法 art. 30); every mode asks here."""
from __future__ import annotations

from sqlalchemy.orm import Session

from market.lending.models import Loan

from .models import Listing


def pledgor_org_id(session: Session, listing: Listing) -> int | None:
    if listing.loan_id is None:
        return None
    loan = session.get(Loan, listing.loan_id)
    return loan.borrower_org_id if loan else None


def seller_side_orgs(session: Session, listing: Listing) -> set[int]:
    orgs = {listing.seller_org_id}
    pledgor = pledgor_org_id(session, listing)
    if pledgor is not None:
        orgs.add(pledgor)
    return orgs
