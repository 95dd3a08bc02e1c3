"""Arrange auctions for tests: a published auction listing (ORM rows, as the listings
package would leave them), round 1 created by the real `listing.published` hook, and
bidders qualified through the real deposit API (offline deposit, operator confirm)."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import update

from market import hooks
from market.assets.models import Asset
from market.timeutil import utcnow

D = Decimal
UTC = dt.timezone.utc


def now() -> dt.datetime:
    return utcnow()


def make_auction(db, seller: dict, *, start_price="100000.00", increment="1000.00",
                 deposit="10000.00", starts_in=-60.0, lasts=86400.0, reserve_price=None,
                 allow_proxy=False, window=300, extension=300, backstop=None,
                 loan_id=None) -> tuple[int, int]:
    """A published auction listing and its round 1 → (listing_id, auction_id).

    `seller` is an actors.user(...) dict (bank or owner); times are seconds from now;
    `backstop` = (org_id, price) or (org_id, price, id of the fund's user who accepted)."""
    from listings.models import Listing, ListingAsset

    db.rollback()  # a fresh transaction: SQLite cannot upgrade an old read snapshot to write
    t = utcnow()
    asset = Asset(kind="invention_patent", registry_no=f"ZL{uuid.uuid4().hex[:10]}",
                  title="一种齿轮传动装置 gear drive", owner_org_id=seller["org_id"],
                  expires_on=dt.date(2040, 1, 1), legal_status="valid", created_at=t)
    db.add(asset)
    db.flush()
    starts = t + dt.timedelta(seconds=starts_in)
    listing = Listing(title="齿轮传动专利 gear patent", mode="auction", status="published",
                      currency="CNY", seller_org_id=seller["org_id"], created_by=seller["id"],
                      loan_id=loan_id, start_price=D(start_price), increment=D(increment),
                      deposit=D(deposit), reserve_price=None if reserve_price is None
                      else D(reserve_price), starts_at=starts,
                      ends_at=starts + dt.timedelta(seconds=lasts), allow_proxy=allow_proxy,
                      extension_window_s=window, extension_s=extension,
                      backstop_org_id=backstop[0] if backstop else None,
                      backstop_price=D(backstop[1]) if backstop else None,
                      # (org_id, price, accepting user id): accepted, it binds (API.md)
                      backstop_accepted_by=backstop[2] if backstop and len(backstop) > 2
                      else None,
                      backstop_accepted_at=t if backstop and len(backstop) > 2 else None,
                      search_text="", created_at=t, updated_at=t, published_at=t)
    db.add(listing)
    db.flush()
    db.add(ListingAsset(listing_id=listing.id, asset_id=asset.id, position=0))
    hooks.fire("listing.published", db, listing, t)
    db.commit()
    return listing.id, listing.auction_id


def qualify(api, operator, auction_id: int) -> str:
    """Pay an offline deposit and have the operator confirm it → the bidder code."""
    resp = api.post(f"/api/v1/auctions/{auction_id}/deposits", json={"method": "offline"})
    assert resp.status_code == 201, resp.get_json()
    dep = resp.get_json()
    resp = operator.post(f"/api/v1/deposits/{dep['id']}/confirm")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "held"
    me = api.client.get(f"/api/v1/auctions/{auction_id}")
    assert me.status_code == 200
    return dep["id"]


def bid(api, auction_id: int, amount: str, **kw):
    return api.post(f"/api/v1/auctions/{auction_id}/bids", json={"amount": amount, **kw})


def move_times(app, auction_id: int, *, starts_in: float | None = None,
               ends_in: float | None = None) -> None:
    """Move a round's window relative to now (as time passing would)."""
    from auctions.models import Auction
    from market.db import database

    values = {}
    t = utcnow()
    if starts_in is not None:
        values["starts_at"] = t + dt.timedelta(seconds=starts_in)
    if ends_in is not None:
        values["ends_at"] = t + dt.timedelta(seconds=ends_in)
    with app.app_context(), database(app).transaction() as s:
        s.execute(update(Auction).where(Auction.id == auction_id).values(**values))


def run_scheduler(app) -> int:
    from market.scheduler import run_once

    with app.app_context():
        return run_once(app)
