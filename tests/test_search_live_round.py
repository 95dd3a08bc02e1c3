"""The listing search's "closing soon" filter and price sort read the live round, as the
cards do (API.md Listings: a listing's auction_id is the current round's auction; DOMAIN.md:
a bid in the last minutes moves the close, a re-auction starts lower)."""
from __future__ import annotations

from listings.models import Listing
from tests.auction_helpers import bid, make_auction, move_times, qualify


def _ids(client, query):
    resp = client.get("/api/v1/listings" + query)
    assert resp.status_code == 200, resp.get_json()
    return [x["id"] for x in resp.get_json()["items"]]


def test_closing_soon_and_price_follow_the_live_round(app, db, actors, client):
    op, seller, inv = actors.api("operator"), actors.api("bank"), actors.api("investor")
    bid_on, _ = make_auction(db, seller.user, start_price="100000.00", lasts=3 * 86400)
    quiet, _ = make_auction(db, seller.user, start_price="120000.00", increment="1000.00",
                            deposit="12000.00", lasts=3 * 86400)
    aid = db.get(Listing, bid_on).auction_id
    db.rollback()
    qualify(inv, op, aid)
    assert bid(inv, aid, "150000.00").status_code == 201
    # The live round closes within the hour (as an extended round would); round 1's terms
    # as created still say three days.
    move_times(app, aid, ends_in=1800)
    assert _ids(client, "?closing_within_h=1") == [bid_on]
    assert _ids(client, "?sort=closing")[0] == bid_on
    # The current price (150,000) counts, not round 1's start (100,000).
    assert _ids(client, "?sort=price_asc") == [quiet, bid_on]
    assert _ids(client, "?min_price=130000.00") == [bid_on]
