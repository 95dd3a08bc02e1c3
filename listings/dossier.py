"""What listings contribute to a loan's due-diligence dossier (hooks "loan.dossier"):
each listing of the loan, its lifecycle transitions with who moved it and why (the
moderation decisions: approve, reject, changes requested) and its disposal costs."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Listing, ListingCost, ListingTransition


def loan_dossier(session: Session, loan) -> dict:
    listings = list(session.scalars(select(Listing).where(Listing.loan_id == loan.id)
                                    .order_by(Listing.id)))
    ids = [lst.id for lst in listings]
    events = [{"at": lst.created_at, "section": "listing", "actor_id": lst.created_by,
               "text": f"Listing #{lst.id} created ({lst.mode}): {lst.title}"}
              for lst in listings]
    if ids:
        for t in session.scalars(select(ListingTransition)
                                 .where(ListingTransition.listing_id.in_(ids))
                                 .order_by(ListingTransition.id)):
            why = f" — {t.reason}" if t.reason else ""
            events.append({"at": t.at, "section": "listing", "actor_id": t.actor_id,
                           "text": f"Listing #{t.listing_id}: {t.from_status} → "
                                   f"{t.to_status}{why}"})
        for c in session.scalars(select(ListingCost).where(ListingCost.listing_id.in_(ids))
                                 .order_by(ListingCost.id)):
            events.append({"at": c.created_at, "section": "listing", "actor_id": c.created_by,
                           "text": f"Listing #{c.listing_id}: disposal cost {c.amount:,.2f} "
                                   f"— {c.description}"})
    return {"events": events, "audit_objects": [("listing", i) for i in ids]}
