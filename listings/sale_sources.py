"""What the core asks of listings about sales: every sale comes from a listing today
(market/providers.py declares the questions; init_app answers them)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from market.providers import SaleSource

from .models import Listing


def sale_sources() -> FromClause:
    """(id, mode) of every listing: settlement's recovery figures group by mode."""
    return select(Listing.id, Listing.mode).subquery("sale_sources")


def describe(session: Session, source_id: int) -> SaleSource | None:
    row = session.execute(select(Listing.mode, Listing.title)
                          .where(Listing.id == source_id)).first()
    return None if row is None else SaleSource(row.mode, source_id, row.title)
