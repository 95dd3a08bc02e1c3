"""GET /api/v1/auctions/{id} answers pollers with ETag / 304, and a 304 never hides a
change a poller must see: a new bid, a soft-close extension, the close."""
from __future__ import annotations

import pytest

from auctions import flows
from auctions.models import Auction
from market.db import database
from tests.auction_helpers import bid, make_auction, move_times, qualify, run_scheduler


@pytest.fixture
def world(app, db, actors):
    op = actors.api("operator")
    a1, a2 = actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    return {"aid": aid, "a1": a1, "a2": a2}


def poll(client, aid, etag=None):
    return client.get(f"/api/v1/auctions/{aid}",
                      headers={"If-None-Match": etag} if etag else {})


def test_unchanged_auction_is_304_with_the_same_validator(client, world):
    first = poll(client, world["aid"])
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "no-cache"  # always revalidated
    again = poll(client, world["aid"], etag)
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert poll(client, world["aid"], '"something-else"').status_code == 200
    assert poll(client, world["aid"], "*").status_code == 304


def test_body_with_a_validator_is_the_documented_one(client, world):
    body = poll(client, world["aid"]).get_json()
    assert set(body) == {"id", "listing_id", "round", "stage", "status", "currency",
                         "start_price", "increment", "deposit", "current_price",
                         "min_next_bid", "bid_count", "leader_code", "starts_at", "ends_at",
                         "reserve_met", "winner_code", "extension_window_s", "extension_s",
                         "allow_proxy", "server_time"}


def test_a_new_bid_is_never_hidden_by_a_304(client, world):
    aid = world["aid"]
    etag = poll(client, aid).headers["ETag"]
    assert bid(world["a1"], aid, "100000.00").status_code == 201
    r = poll(client, aid, etag)
    assert r.status_code == 200
    assert r.get_json()["bid_count"] == 1 and r.get_json()["current_price"] == "100000.00"
    etag2 = r.headers["ETag"]
    assert etag2 != etag and poll(client, aid, etag2).status_code == 304
    assert bid(world["a2"], aid, "101000.00").status_code == 201
    r = poll(client, aid, etag2)
    assert r.status_code == 200 and r.get_json()["bid_count"] == 2


def test_a_soft_close_extension_is_never_hidden_by_a_304(app, client, world):
    aid = world["aid"]
    move_times(app, aid, ends_in=60)
    r = poll(client, aid)
    etag, ends = r.headers["ETag"], r.get_json()["ends_at"]
    assert poll(client, aid, etag).status_code == 304
    assert bid(world["a1"], aid, "100000.00").status_code == 201  # inside the window
    r = poll(client, aid, etag)
    assert r.status_code == 200 and r.get_json()["ends_at"] > ends
    # An operator's (or the clock's) move of the close alone changes the validator too.
    etag = r.headers["ETag"]
    move_times(app, aid, ends_in=120)
    r = poll(client, aid, etag)
    assert r.status_code == 200 and r.get_json()["ends_at"] != ends


def test_the_close_is_never_hidden_by_a_304(app, client, world):
    aid = world["aid"]
    assert bid(world["a1"], aid, "100000.00").status_code == 201
    etag = poll(client, aid).headers["ETag"]
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    r = poll(client, aid, etag)
    assert r.status_code == 200 and r.get_json()["status"] != "open"


def test_unknown_auction_is_404_even_with_a_validator(client, world):
    assert poll(client, 999999, '"x"').status_code == 404


def test_a_304_carries_every_response_header(client, world):
    etag = poll(client, world["aid"]).headers["ETag"]
    r = poll(client, world["aid"], etag)
    assert r.status_code == 304 and r.headers["X-Request-Id"]
    assert r.headers["Cache-Control"] == "no-cache" and "Cookie" in r.headers["Vary"]


def test_a_token_is_still_checked_when_revalidating(client, world):
    etag = poll(client, world["aid"]).headers["ETag"]
    r = client.get(f"/api/v1/auctions/{world['aid']}",
                   headers={"If-None-Match": etag, "Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    r = client.get(f"/api/v1/auctions/{world['aid']}",
                   headers={"If-None-Match": etag, **world["a1"].headers})
    assert r.status_code == 304  # a real token: the view's own conditional answer


def test_raw_and_orm_reads_give_the_same_validator(app, db, client, world):
    """The 304 answered before Flask (PostgreSQL: a raw driver read) must agree with the
    view's ETag, or pollers would never get it; times agree as instants."""
    assert bid(world["a1"], world["aid"], "100000.00").status_code == 201
    etag = poll(client, world["aid"]).headers["ETag"]
    assert etag == f'W/"{flows.current_etag(db, world["aid"])}"'
    database_ = database(app)
    if not database_.is_sqlite:
        row = database_.fetch_one_autocommit(flows.STATE_SQL, {"id": world["aid"]})
        assert etag == f'W/"{flows.auction_etag(row)}"'
    a = db.get(Auction, world["aid"])
    db.refresh(a)
    assert etag == f'W/"{flows.auction_etag(a)}"'
