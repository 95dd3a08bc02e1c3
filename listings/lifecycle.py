"""The listing lifecycle: an explicit from → to table; every move is a row and an audit.

    draft ──submit──▶ pending_review ──approve──▶ published ──▶ sold ──▶ settled
      ▲                 │  │                         │  │  │      │
      │       reject ◀──┘  └──▶ changes_requested    │  │  │      └──▶ failed / published
      │   (edit, submit again from either)           │  │  └──▶ failed ──▶ published (new round)
      │                                              │  └──▶ unpublished (operator, reason)
      └─────────────────────────────────────────────────▶ withdrawn (creator, before any bid)

`transition()` only checks the table and records the move. Permissions, rule checks
and hooks belong to the use case that calls it (listings/services.py, auctions), so
auctions may move a listing to sold / failed / settled without re-firing hooks.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from sqlalchemy import select

from market import lifecycle
from market.timeutil import utcnow

from .models import Listing, ListingTransition

EDITABLE = frozenset({"draft", "changes_requested", "rejected"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"pending_review", "withdrawn"}),
    "pending_review": frozenset({"published", "rejected", "changes_requested", "withdrawn"}),
    "changes_requested": frozenset({"pending_review", "withdrawn"}),
    "rejected": frozenset({"pending_review", "withdrawn"}),
    "published": frozenset({"unpublished", "withdrawn", "sold", "failed", "licensed",
                            "unsold"}),
    # An exclusive or sole licence granted; published again when it goes unpaid.
    "licensed": frozenset({"published"}),
    # A winner who defaults (悔拍) sends the listing back to a new round or to failed.
    "sold": frozenset({"settled", "failed", "published", "unsold"}),
    # A failed round is followed by a re-auction or a fixed-price sale (法释〔2016〕18号).
    "failed": frozenset({"published", "unpublished", "withdrawn", "sold"}),
    "unpublished": frozenset({"pending_review"}),
    # A listed transfer nobody bought (or whose buyer defaulted): relisted by its seller.
    "unsold": frozenset({"published", "pending_review", "withdrawn"}),
    "withdrawn": frozenset(),
    "settled": frozenset(),
}
# market.lifecycle.move() reads the table and the name from the model.
Listing.TRANSITIONS = TRANSITIONS
Listing.LIFECYCLE = "listing"


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def transition(session: Session, listing: Listing, to_status: str, *, actor_id: int | None,
               reason: str | None = None) -> ListingTransition:
    """Move `listing` to `to_status` (409 invalid_transition if the table forbids it)."""
    from_status = listing.status
    now = utcnow()
    values: dict = {"updated_at": now}
    if to_status == "rejected":
        values["reject_reason"] = reason
    elif to_status == "changes_requested":
        values["review_comment"] = reason
    elif to_status == "published":
        values["published_at"] = now
    # Listing keeps its own history table (listing_transitions), written here.
    lifecycle.move(session, listing, to_status, actor_id=actor_id, reason=reason,
                   history=False, **values)
    row = ListingTransition(listing_id=listing.id, from_status=from_status,
                            to_status=to_status, actor_id=actor_id, reason=reason, at=now)
    session.add(row)
    session.flush()
    return row


def history(session: Session, listing_id: int) -> list[ListingTransition]:
    return list(session.scalars(select(ListingTransition)
                                .where(ListingTransition.listing_id == listing_id)
                                .order_by(ListingTransition.id)))
