"""Who may bid (API.md "Auctions", DOMAIN.md "Auction rules"):
- 拍卖法 art. 30 (委托人不得参与竞买): users of the seller's and the pledgor's organisation
  are refused deposits with 403 seller_cannot_bid, whatever their role;
- 法释〔2016〕18号 art. 24 (悔拍): the defaulting buyer is the organisation, so every user of
  it is refused in the re-sale with 403 bidder_barred.
Both come after 404 and before 409 (API.md Conventions)."""
from __future__ import annotations

import secrets
import uuid

import pytest
from sqlalchemy import func, select

from auctions.models import Auction, AuctionBidder
from market.payments.models import Deposit
from listings.models import Listing
from market.accounts.models import Org
from market.db import database
from market.settlement.models import Settlement
from market.timeutil import utcnow
from tests.auction_helpers import bid, make_auction, move_times, qualify, run_scheduler
from tests.contract_helpers import API, World, expect


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _colleague(actors, db, org_id: int, role: str = "investor"):
    db.rollback()
    name = db.get(Org, org_id).name
    db.rollback()  # SQLite: no read snapshot left open while another connection writes
    return actors.api(role, org=name)


def _deposits(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Deposit))


def test_seller_and_pledgor_staff_cannot_take_a_deposit(world, actors, db):
    """拍卖法 art. 30: the selling bank's and the pledgor's investor users → 403
    seller_cannot_bid on POST /auctions/{id}/deposits; nothing is written."""
    a, ln = world.collateral()
    lst = world.publish(world.bank, world.listing_body([a["id"]], ln["id"], starts_in=3600))
    aid = lst["auction_id"]
    bank_staff = _colleague(actors, db, world.bank.user["org_id"])
    pledgor_staff = _colleague(actors, db, world.borrower_id)
    for who in (bank_staff, pledgor_staff):
        expect(who.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}), 403,
               "seller_cannot_bid")
    assert _deposits(db) == 0
    # 403 (the caller) comes before 409 (the state): a closed round still says who.
    with world.app.app_context(), database(world.app).transaction() as s:
        s.get(Auction, aid).status = "cancelled"
    expect(bank_staff.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}), 403,
           "seller_cannot_bid")
    expect(world.investor.post(f"{API}/auctions/{aid}/deposits", json={"method": "offline"}),
           409, "auction_not_open")
    # 404 before 403.
    expect(bank_staff.post(f"{API}/auctions/999999/deposits", json={"method": "offline"}), 404)


def test_a_deposit_the_seller_side_somehow_holds_qualifies_nobody(app, db, actors):
    """拍卖法 art. 30: a seller-side deposit that got in (taken before the rule) gives no
    bidder code, and its holder's bid is refused with 403 seller_cannot_bid."""
    op = actors.api("operator")
    seller = actors.api("bank")
    lid, aid = make_auction(db, seller.user)
    staff = _colleague(actors, db, seller.user["org_id"])
    amount = db.get(Auction, aid).deposit_amount
    db.add(Deposit(listing_id=lid, auction_id=aid, user_id=staff.user["id"],
                   org_id=staff.user["org_id"],
                   amount=amount, method="offline",
                   status="pending", reference="DEP" + secrets.token_hex(5).upper(),
                   idempotency_key=f"deposit-test-{uuid.uuid4().hex}", created_at=utcnow()))
    db.commit()
    dep_id = db.scalar(select(Deposit.id).where(Deposit.user_id == staff.user["id"]))
    expect(op.post(f"{API}/deposits/{dep_id}/confirm"), 403, "seller_cannot_bid")
    db.rollback()
    assert db.get(Deposit, dep_id).status == "pending"
    assert db.scalar(select(func.count()).select_from(AuctionBidder)) == 0
    expect(bid(staff, aid, "100000.00"), 403, "seller_cannot_bid")
    db.rollback()
    assert db.get(Auction, aid).bid_count == 0


def test_the_defaulting_buyers_whole_organisation_is_barred(app, db, actors):
    """法释〔2016〕18号 art. 24 (悔拍): after the winner defaults, a colleague of the same
    organisation is refused a deposit in the re-sale (403 bidder_barred); others are not."""
    op, seller = actors.api("operator"), actors.api("bank")
    winner, other = actors.api("investor"), actors.api("investor")
    lid, aid = make_auction(db, seller.user)
    qualify(winner, op, aid)
    assert bid(winner, aid, "100000.00").status_code == 201
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    with app.app_context(), database(app).transaction() as s:
        st = s.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{aid}"))
        st.balance_due_by = utcnow()
    run_scheduler(app)
    db.rollback()
    nxt = db.get(Listing, lid).auction_id
    assert nxt != aid and db.get(Auction, nxt).status in ("scheduled", "open")
    colleague = _colleague(actors, db, winner.user["org_id"])
    expect(colleague.post(f"{API}/auctions/{nxt}/deposits", json={"method": "offline"}), 403,
           "bidder_barred")
    expect(winner.post(f"{API}/auctions/{nxt}/deposits", json={"method": "offline"}), 403,
           "bidder_barred")
    expect(other.post(f"{API}/auctions/{nxt}/deposits", json={"method": "offline"}), 201)
