"""The public listing page shows each asset's latest registered pledge, and reads the
pledges in a fixed number of queries however many assets the listing bundles."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select, update

from listings.models import Listing, ListingAsset
from market.assets.models import Asset
from market.db import database
from market.lending.models import Pledge, PledgeAsset
from tests.auction_helpers import make_auction
from tests.listing_helpers import asset, loan


def bundle(db, actors, n_assets: int) -> tuple[int, list[str], list[str]]:
    """An auction listing over n pledged assets; each asset's first pledge (bank A) was
    replaced by a newer one (bank B). → (listing id, newest registration nos, older ones)."""
    seller = actors.user("bank")
    owner = actors.user("owner")
    lid, _aid = make_auction(db, seller)
    newest, older = [], []
    for k in range(n_assets):
        a = asset(db, owner["org_id"])
        db.add(ListingAsset(listing_id=lid, asset_id=a, position=k + 1))
        old_loan = loan(db, actors.user("bank")["org_id"], owner["org_id"], [a], status="repaid")
        old = db.scalar(select(Pledge.id).where(Pledge.loan_id == old_loan))
        db.execute(update(Pledge).where(Pledge.id == old)
                   .values(registered_on=dt.date(2020, 1, 1), status="released"))
        db.execute(update(PledgeAsset).where(PledgeAsset.pledge_id == old).values(active=False))
        db.commit()
        new_loan = loan(db, seller["org_id"], owner["org_id"], [a])
        older.append(db.scalar(select(Pledge.registration_no).where(Pledge.loan_id == old_loan)))
        newest.append(db.scalar(select(Pledge.registration_no).where(Pledge.loan_id == new_loan)))
    db.commit()
    return lid, newest, older


def count_queries(app, client, url: str) -> tuple[int, str]:
    seen = []
    engine = database(app).engine

    def on_execute(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        resp = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert resp.status_code == 200
    return len(seen), resp.get_data(as_text=True)


def test_each_asset_shows_its_newest_pledge(app, db, actors, client):
    lid, newest, older = bundle(db, actors, 3)
    _, page = count_queries(app, client, f"/listings/{lid}")
    assert all(no in page for no in newest)
    assert not any(no in page for no in older)
    assert db.scalar(select(Listing.title).where(Listing.id == lid)) in page


def test_pledge_queries_do_not_grow_with_the_assets(app, db, actors, client):
    warm, _, _ = bundle(db, actors, 1)
    one, _, _ = bundle(db, actors, 1)
    five, _, _ = bundle(db, actors, 5)
    count_queries(app, client, f"/listings/{warm}")  # warm caches (settings, translations)
    db.expire_all()
    n_one, _ = count_queries(app, client, f"/listings/{one}")
    db.expire_all()
    n_five, _ = count_queries(app, client, f"/listings/{five}")
    assert n_five == n_one


def test_cards_show_assets_without_loading_their_valuations(app, db, actors, client):
    """Cards show each asset's kind and number; its co-owners and valuations stay unread."""
    lid, _, _ = bundle(db, actors, 2)
    numbers = db.scalars(select(Asset.registry_no).join(ListingAsset, ListingAsset.asset_id
                                                          == Asset.id)
                         .where(ListingAsset.listing_id == lid)).all()
    db.expire_all()
    seen = []
    engine = database(app).engine

    def on_execute(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        page = client.get("/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert f'data-listing-id="{lid}"' in page
    assert len(numbers) == 3 and all(no in page for no in numbers[:3])
    assert not any("FROM valuations" in q or "FROM asset_co_owners" in q for q in seen)
