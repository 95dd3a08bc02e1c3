"""The transfer01 migration: an existing transfer listing's asking price becomes its list
price with terms inside the rules, and a published one gets a period to be decided at."""
from __future__ import annotations

import sqlite3

from market.app import create_app
from market.cli import upgrade


def test_existing_transfer_listings_get_terms(tmp_path):
    path = tmp_path / "old.sqlite3"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True})
    upgrade(app, "oversight01")
    con = sqlite3.connect(path)
    cols = ("title, mode, status, currency, seller_org_id, created_by, ask_price, allow_proxy, "
            "extension_window_s, extension_s, search_text, created_at, updated_at")
    for status, fen in (("published", 88000000), ("draft", 2000000000), ("published", None)):
        con.execute(f"INSERT INTO listings ({cols}) VALUES ('t', 'transfer', ?, 'CNY', 1, 1, ?, "
                    "0, 300, 300, '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                    (status, fen))
    con.execute(f"INSERT INTO listings ({cols}) VALUES ('a', 'licensing', 'draft', 'CNY', 1, 1, "
                "100, 0, 300, 300, '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    con.commit()
    upgrade(app, "transfer01")
    rows = con.execute("SELECT listing_id, list_price, deposit, increment, disclosure_days, "
                       "auction_seconds, status, disclosure_ends_at IS NOT NULL "
                       "FROM listing_transfers ORDER BY listing_id").fetchall()
    assert rows == [(1, 88000000, 8800000, 880000, None, 86400, "disclosure", 1),
                    (2, 2000000000, 200000000, 20000000, None, 86400, "awaiting", 0)]
