"""Demo (order 40): open auctions with bids from the demo investors, one closing soon."""
from __future__ import annotations


def seed(session, ctx) -> None:
    pass
