"""market/http.py: a check or header added once applies to every path a request can take —
Flask's views, and the bids answered before Flask (auctions.api.BidShortcut, PostgreSQL)."""
from __future__ import annotations

import contextlib

from market import http
from market.errors import DomainError
from tests.auction_helpers import bid, make_auction, qualify


@contextlib.contextmanager
def added(items: list, item):
    items.append(item)
    try:
        yield
    finally:
        items.remove(item)


def test_a_check_and_a_header_added_once_reach_bids_and_other_requests(app, db, actors):
    op, a1 = actors.api("operator"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)
    seen: list[str] = []

    def closed_for_maintenance(environ):
        seen.append(environ["PATH_INFO"])
        if environ.get("HTTP_X_MAINTENANCE") == "1":
            raise DomainError("maintenance", "the exchange is closed for maintenance", 503)

    with added(http.checks(app), closed_for_maintenance), \
            added(http.extra_headers(app), lambda environ: [("X-Node", "n1")]):
        refused = a1.client.post(f"/api/v1/auctions/{aid}/bids", json={"amount": "100000.00"},
                                 headers={**a1.headers, "X-Maintenance": "1"})
        assert (refused.status_code, refused.get_json()) == (503, {"error": {
            "code": "maintenance", "message": "the exchange is closed for maintenance"}})
        assert refused.headers["X-Node"] == "n1"
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        page = a1.client.get(f"/api/v1/auctions/{aid}", headers={"X-Maintenance": "1"})
        assert (page.status_code, page.get_json()["error"]["code"]) == (503, "maintenance")

        seen.clear()
        accepted = bid(a1, aid, "100000.00")
        assert accepted.status_code == 201 and accepted.headers["X-Node"] == "n1"
        assert accepted.headers["X-Request-Id"]
        # A proxy bid is not the shortcut's to answer: Flask's view takes it, and the check
        # ran once for the request all the same.
        proxy = a1.post(f"/api/v1/auctions/{aid}/bids",
                        json={"amount": "101000.00", "max_amount": "200000.00"})
        assert (proxy.status_code, proxy.get_json()["error"]["code"]) == (422, "proxy_not_allowed")
        assert proxy.headers["X-Node"] == "n1"
        assert seen == [f"/api/v1/auctions/{aid}/bids"] * 2
    assert bid(a1, aid, "100000.00").headers.get("X-Node") is None  # removed: gone everywhere
