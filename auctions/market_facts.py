"""What market data (market/marketdata) asks of a sale made by an auction: its round."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Auction

PREFIX = "auction:"  # closing.py names an auction's sale f"auction:{id}"


def sale_rounds(session: Session, sale_refs: list[str]) -> dict[str, int]:
    ids = {int(ref[len(PREFIX):]): ref for ref in sale_refs
           if ref.startswith(PREFIX) and ref[len(PREFIX):].isdigit()}
    if not ids:
        return {}
    return {ids[aid]: rnd for aid, rnd in session.execute(
        select(Auction.id, Auction.round).where(Auction.id.in_(ids)))}
