"""What market data needs from the packages that made a sale, asked through hooks.

A settlement row knows its listing and its sale_ref, not the listing's assets, mode or
the auction round. Those belong to listings and auctions, which market's core may not
import: each registers a provider at init_app (market/hooks.py) and answers in bulk.

- marketdata.listing_facts(listing_ids) → {listing_id: {"mode": str, "asset_ids": [int]}}
  (asset_ids in the listing's order)
- marketdata.sale_rounds(sale_refs) → {sale_ref: int}  the round the sale was made in
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from .. import hooks

LISTING_FACTS = "marketdata.listing_facts"
SALE_ROUNDS = "marketdata.sale_rounds"


def _merged(name: str, session: Session, keys: list) -> dict:
    out: dict = {}
    if not keys:
        return out
    for answer in hooks.fire(name, session, keys):
        out.update(answer or {})
    return out


def listing_facts(session: Session, listing_ids: Iterable[int]) -> dict[int, dict]:
    return _merged(LISTING_FACTS, session, sorted(set(listing_ids)))


def sale_rounds(session: Session, sale_refs: Iterable[str]) -> dict[str, int]:
    return _merged(SALE_ROUNDS, session, sorted(set(sale_refs)))
