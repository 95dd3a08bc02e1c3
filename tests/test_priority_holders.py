"""Operators register holders of a priority right (优先购买权) with their rank, through the
API; registered holders may match the top bid and win the tie, the better rank first
(DOMAIN.md auction rules) — also when registered after they qualified."""
from __future__ import annotations

from tests.auction_helpers import bid, make_auction, qualify


def _register(op, lid, org_id, rank, basis="co-owner"):
    return op.post(f"/api/v1/listings/{lid}/priority-holders",
                   json={"org_id": org_id, "rank": rank, "basis": basis})


def test_registered_holders_match_the_top_bid_and_win_by_rank(db, actors, client):
    op = actors.api("operator")
    plain, p1, p2 = actors.api("investor"), actors.api("investor"), actors.api("investor")
    lid, aid = make_auction(db, actors.user("bank"))
    r = _register(op, lid, p1.user["org_id"], 1)
    assert r.status_code == 201 and r.get_json()["rank"] == 1
    for x in (plain, p1, p2):
        qualify(x, op, aid)
    # p2's right is registered only now: the rank applies to its qualification at once.
    assert _register(op, lid, p2.user["org_id"], 2, "exclusive licensee").status_code == 201

    assert bid(plain, aid, "110000.00").status_code == 201
    r = bid(p2, aid, "110000.00")
    assert r.status_code == 201, r.get_json()  # matches the top bid: rank 2 beats a plain bidder
    r = bid(p1, aid, "110000.00")
    assert r.status_code == 201  # rank 1 beats rank 2 at the same price
    leader = r.get_json()["bid"]["bidder_code"]
    assert bid(p2, aid, "110000.00").get_json()["error"]["code"] == "bid_too_low"
    body = client.get(f"/api/v1/auctions/{aid}").get_json()
    assert body["leader_code"] == leader and body["current_price"] == "110000.00"


def test_registration_refusals_write_nothing(db, actors):
    op, bank, inv = actors.api("operator"), actors.user("bank"), actors.api("investor")
    lid, _aid = make_auction(db, bank)
    org = inv.user["org_id"]
    assert _register(inv, lid, org, 1).status_code == 403
    r = op.post(f"/api/v1/listings/{lid}/priority-holders", json={"org_id": org, "rank": 0,
                                                                  "basis": "x"})
    assert r.status_code == 422
    assert _register(op, 999999, org, 1).status_code == 404
    assert _register(op, lid, 999999, 1).status_code == 404
    r = _register(op, lid, bank["org_id"], 1)
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "holder_is_seller")
    assert _register(op, lid, org, 1).status_code == 201
    r = _register(op, lid, org, 2)
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "priority_holder_exists")
    other = actors.user("investor")
    r = _register(op, lid, other["org_id"], 1)  # the rank is taken
    assert r.status_code == 409
    from listings.models import PriorityHolder
    from sqlalchemy import func, select

    db.rollback()
    assert db.scalar(select(func.count()).select_from(PriorityHolder)) == 1
