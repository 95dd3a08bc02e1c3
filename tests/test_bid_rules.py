"""The bid path: API.md "Auctions" check order and 法释〔2016〕18号 bidding rules."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from auctions.models import Auction, Bid
from market.audit import AuditRecord
from market.notifications import Notification
from tests.auction_helpers import bid, make_auction, move_times, qualify

D = Decimal


@pytest.fixture
def world(app, db, actors):
    seller = actors.user("bank")
    op = actors.api("operator")
    a1, a2, a3 = (actors.api("investor") for _ in range(3))
    lid, aid = make_auction(db, seller)
    return {"seller": seller, "op": op, "a1": a1, "a2": a2, "a3": a3, "lid": lid, "aid": aid}


def test_public_get_shows_the_contract_fields(client, world):
    """API.md: GET /auctions/{id} is public with exactly these fields."""
    body = client.get(f"/api/v1/auctions/{world['aid']}").get_json()
    for k in ("id", "listing_id", "round", "stage", "status", "start_price", "increment",
              "current_price", "min_next_bid", "bid_count", "leader_code", "starts_at",
              "ends_at", "reserve_met", "winner_code"):
        assert k in body
    assert body["status"] == "open" and body["round"] == 1 and body["stage"] == "auction"
    assert body["start_price"] == "100000.00" and body["min_next_bid"] == "100000.00"
    assert body["current_price"] is None and body["bid_count"] == 0
    assert body["ends_at"].endswith("+00:00")
    assert client.get("/api/v1/auctions/999999999").status_code == 404


def test_check_order_increment_before_open_before_deposit(app, world):
    """API.md: 422 not_increment_multiple, then 409 auction_not_open, then 403 deposit_required."""
    aid, a1 = world["aid"], world["a1"]
    move_times(app, aid, ends_in=-1)
    r = bid(a1, aid, "100500.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "not_increment_multiple")
    r = bid(a1, aid, "100000.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "auction_not_open")
    move_times(app, aid, ends_in=3600)
    r = bid(a1, aid, "100000.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "deposit_required")


def test_auth_body_and_404_come_first(world, client):
    """API.md order: 401 → 403 (role) → 422 (body) → 404."""
    aid = world["aid"]
    assert client.post(f"/api/v1/auctions/{aid}/bids", json={"amount": "1.00"}).status_code == 401
    assert world["op"].post(f"/api/v1/auctions/{aid}/bids", json={"amount": "1"}).status_code == 403
    r = bid(world["a1"], aid, "-5")
    assert r.status_code == 422
    r = world["a1"].post(f"/api/v1/auctions/{aid}/bids", json={"amount": "1.00", "x": 1})
    assert r.status_code == 422
    assert bid(world["a1"], 10**12, "100000.00").status_code == 404


def test_open_means_the_time_window_whatever_the_status(app, db, world):
    """API.md: open means starts_at ≤ server time < ends_at, whatever the row's status says."""
    aid = world["aid"]
    qualify(world["a1"], world["op"], aid)
    db.execute(Auction.__table__.update().where(Auction.id == aid).values(status="scheduled"))
    db.commit()
    assert bid(world["a1"], aid, "100000.00").status_code == 201
    move_times(app, aid, starts_in=30)
    r = bid(world["a1"], aid, "101000.00")  # a1 is qualified (and leads): the window refuses first
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "auction_not_open")
    r = bid(world["a2"], aid, "101000.00")  # a2 is not: the open check still comes first
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "auction_not_open")


def test_first_bid_at_start_then_increments_and_leader_cannot_outbid_itself(world):
    """法释〔2016〕18号: first bid ≥ start price; then current + increment; no self-outbid."""
    aid, a1, a2, op = world["aid"], world["a1"], world["a2"], world["op"]
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    r = bid(a1, aid, "99000.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "bid_too_low")
    r = bid(a1, aid, "100000.00")
    assert r.status_code == 201
    body = r.get_json()
    assert body["bid"]["amount"] == "100000.00" and body["bid"]["bidder_code"]
    assert body["auction"]["current_price"] == "100000.00"
    assert body["auction"]["min_next_bid"] == "101000.00"
    assert body["auction"]["leader_code"] == body["bid"]["bidder_code"]
    r = bid(a1, aid, "105000.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "already_leading")
    r = bid(a2, aid, "100000.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "bid_too_low")
    assert bid(a2, aid, "103000.00").status_code == 201


def test_bid_log_newest_first_codes_only_and_bid_count(client, world):
    """API.md: GET /auctions/{id}/bids: accepted bids only, newest first, codes only."""
    aid, a1, a2, op = world["aid"], world["a1"], world["a2"], world["op"]
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    bid(a1, aid, "100000.00")
    bid(a2, aid, "100500.00")  # refused: not on the grid
    bid(a2, aid, "101000.00")
    bid(a1, aid, "102000.00")
    body = client.get(f"/api/v1/auctions/{aid}/bids").get_json()
    assert body["total"] == 3 and [b["amount"] for b in body["items"]] == [
        "102000.00", "101000.00", "100000.00"]
    assert set(body["items"][0]) <= {"amount", "bidder_code", "placed_at", "kind"}
    assert "email" not in str(body) and "user" not in str(body)
    assert client.get(f"/api/v1/auctions/{aid}").get_json()["bid_count"] == 3
    assert client.get(f"/api/v1/auctions/{aid}/bids?per_page=1").get_json()["per_page"] == 1


def test_soft_close_extends_only_inside_the_window(app, client, world):
    """法释〔2016〕18号: a bid in the last 5 minutes moves the close to 5 minutes after it;
    rejected bids never extend."""
    aid, a1, a2, op = world["aid"], world["a1"], world["a2"], world["op"]
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    before = client.get(f"/api/v1/auctions/{aid}").get_json()["ends_at"]
    bid(a1, aid, "100000.00")
    assert client.get(f"/api/v1/auctions/{aid}").get_json()["ends_at"] == before
    move_times(app, aid, ends_in=60)
    ends_60 = client.get(f"/api/v1/auctions/{aid}").get_json()["ends_at"]
    r = bid(a2, aid, "100000.00")  # refused
    assert r.status_code == 409
    assert client.get(f"/api/v1/auctions/{aid}").get_json()["ends_at"] == ends_60
    r = bid(a2, aid, "101000.00")
    placed = dt.datetime.fromisoformat(r.get_json()["bid"]["placed_at"])
    ends = dt.datetime.fromisoformat(r.get_json()["auction"]["ends_at"])
    assert ends == placed + dt.timedelta(seconds=300)


def test_custom_window_and_extension(app, db, actors, client):
    """API.md: extension_window_s and extension_s are any positive integers (300 is only the
    default): a bid 100 s before the close is outside a 30 s window; one 5 s before it moves
    the close to placed_at + 7 s."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), window=30, extension=7)
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    move_times(app, aid, ends_in=100)
    before = client.get(f"/api/v1/auctions/{aid}").get_json()["ends_at"]
    r = bid(a1, aid, "100000.00").get_json()
    assert r["auction"]["ends_at"] == before
    move_times(app, aid, ends_in=5)
    r = bid(a2, aid, "101000.00").get_json()
    placed = dt.datetime.fromisoformat(r["bid"]["placed_at"])
    assert dt.datetime.fromisoformat(r["auction"]["ends_at"]) == placed + dt.timedelta(seconds=7)


def test_refused_attempts_go_to_the_audit_log_and_change_nothing(db, client, world):
    """API.md: refused bids change nothing; refused attempts go to the audit log."""
    aid, a1, op = world["aid"], world["a1"], world["op"]
    qualify(a1, op, aid)
    before = client.get(f"/api/v1/auctions/{aid}").get_json()
    assert bid(a1, aid, "50000.00").status_code == 409
    assert client.get(f"/api/v1/auctions/{aid}").get_json() | {"server_time": None} == \
        before | {"server_time": None}
    refused = db.scalars(select(AuditRecord).where(AuditRecord.action == "auction.bid_refused")).all()
    assert len(refused) == 1 and "bid_too_low" in refused[0].after
    assert db.scalar(select(Bid.id)) is None


def test_every_accepted_bid_is_audited_and_the_outbid_are_told(db, world):
    """Every accepted bid writes an audit record in its transaction; outbid → notification."""
    aid, a1, a2, op = world["aid"], world["a1"], world["a2"], world["op"]
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    bid(a1, aid, "100000.00")
    bid(a2, aid, "101000.00")
    assert len(db.scalars(select(AuditRecord).where(AuditRecord.action == "auction.bid")).all()) == 2
    kinds = db.scalars(select(Notification.kind).where(
        Notification.user_id == a1.user["id"])).all()
    assert "auction.outbid" in kinds


def test_reserve_is_hidden_but_reserve_met_is_shown(app, db, actors, client):
    """UI.md / 法释〔2016〕18号: the reserve stays hidden; reserve_met is shown."""
    op, a1 = actors.api("operator"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), reserve_price="102000.00")
    qualify(a1, op, aid)
    body = client.get(f"/api/v1/auctions/{aid}").get_json()
    assert body["reserve_met"] is False and "102000" not in str(body)
    bid(a1, aid, "102000.00")
    assert client.get(f"/api/v1/auctions/{aid}").get_json()["reserve_met"] is True


def test_priority_holder_matches_top_bid_and_wins_the_tie(app, db, actors, client):
    """DOMAIN.md (优先购买权): ranked holders may match the top bid; at an equal price they
    win, the better rank first."""
    from listings.models import PriorityHolder
    from market.timeutil import utcnow

    op = actors.api("operator")
    plain = actors.api("investor")
    p1 = actors.api("investor")
    p2 = actors.api("investor")
    lid, aid = make_auction(db, actors.user("bank"))
    db.add_all([PriorityHolder(listing_id=lid, org_id=p1.user["org_id"], rank=1, basis="co-owner",
                               registered_at=utcnow()),
                PriorityHolder(listing_id=lid, org_id=p2.user["org_id"], rank=2,
                               basis="exclusive licensee", registered_at=utcnow())])
    db.commit()
    for x in (plain, p1, p2):
        qualify(x, op, aid)
    assert bid(plain, aid, "110000.00").status_code == 201
    r = bid(p2, aid, "110000.00")  # matches: rank 2 beats a plain bidder
    assert r.status_code == 201 and r.get_json()["auction"]["leader_code"] == \
        r.get_json()["bid"]["bidder_code"]
    r = bid(p1, aid, "110000.00")  # rank 1 beats rank 2 at the same price
    assert r.status_code == 201
    p1_code = r.get_json()["bid"]["bidder_code"]
    r = bid(p2, aid, "110000.00")  # rank 2 cannot take it back at an equal price
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "bid_too_low")
    r = bid(plain, aid, "110000.00")
    assert r.get_json()["error"]["code"] == "bid_too_low"
    body = client.get(f"/api/v1/auctions/{aid}").get_json()
    assert body["leader_code"] == p1_code and body["current_price"] == "110000.00"


def test_proxy_bidding_ebay_style(app, db, actors, client):
    """Proxy bidding (allow_proxy): the leader's maximum answers challengers one increment
    above them; a tie goes to the earlier maximum."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), allow_proxy=True)
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    r = bid(a1, aid, "100000.00", max_amount="110000.00")
    assert r.status_code == 201
    code1 = r.get_json()["bid"]["bidder_code"]
    r = bid(a2, aid, "105000.00")
    assert r.status_code == 201
    body = r.get_json()["auction"]
    assert body["leader_code"] == code1 and body["current_price"] == "106000.00"
    r = bid(a2, aid, "110000.00")  # equals a1's maximum: the earlier maximum wins
    assert r.get_json()["auction"]["leader_code"] == code1
    assert r.get_json()["auction"]["current_price"] == "110000.00"
    r = bid(a2, aid, "112000.00")
    assert r.get_json()["auction"]["leader_code"] == r.get_json()["bid"]["bidder_code"]
    assert r.get_json()["auction"]["current_price"] == "112000.00"
    amounts = [D(b["amount"]) for b in client.get(
        f"/api/v1/auctions/{aid}/bids?per_page=100").get_json()["items"]][::-1]
    assert amounts == sorted(amounts)
    # max_amount where proxy bidding is off: refused
    _l2, aid2 = make_auction(db, actors.user("bank"))
    qualify(a1, op, aid2)
    r = bid(a1, aid2, "100000.00", max_amount="120000.00")
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "proxy_not_allowed")


def test_leader_raises_proxy_maximum(db, actors):
    """DOMAIN.md: a leader cannot outbid itself, but may raise a proxy maximum."""
    op, a1, a2 = actors.api("operator"), actors.api("investor"), actors.api("investor")
    _lid, aid = make_auction(db, actors.user("bank"), allow_proxy=True)
    qualify(a1, op, aid)
    qualify(a2, op, aid)
    bid(a1, aid, "100000.00", max_amount="101000.00")
    r = a1.post(f"/api/v1/auctions/{aid}/proxy", json={"max_amount": "120000.00"})
    assert r.status_code == 200
    r = bid(a2, aid, "115000.00")
    assert r.get_json()["auction"]["current_price"] == "116000.00"
    r = a2.post(f"/api/v1/auctions/{aid}/proxy", json={"max_amount": "130000.00"})
    assert r.get_json()["error"]["code"] == "not_leading"
