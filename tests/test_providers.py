"""The core asks listings and auctions through providers (market/providers.py), never by
reading their tables: the answers the real packages register, seen through the core."""
from __future__ import annotations

from decimal import Decimal

import pytest

from market import providers
from market.accounts.models import User
from market.errors import NotFound
from market.payments import services as payments
from market.settlement.views import recovery_by_mode
from listings.browse import auction_rounds, round_figures
from listings.models import Listing

from .auction_helpers import make_auction
from .settlement_helpers import make_sale


def test_listings_describe_the_sale_source(db, actors):
    sale = make_sale(db, actors, parties=())
    lid = sale["sc"].listing_id
    describe = providers.describe_sale_source.get()
    assert describe is not None
    source = describe(db, lid)
    assert (source.mode, source.id, source.title) == ("auction", lid, "专利包 patent bundle")
    assert describe(db, 999999999) is None


def test_recovery_figures_group_by_the_sale_sources_mode(db, actors):
    sale = make_sale(db, actors, parties=())
    db.get(Listing, sale["sc"].listing_id).mode = "fixed_price"
    db.commit()
    rows = recovery_by_mode(db, None)
    assert [r["mode"] for r in rows] == ["fixed_price"]
    assert rows[0]["sales"] == 1 and rows[0]["settled"] == 0
    assert rows[0]["claimed"] == sale["st"].claim_total
    # a bank sees only the sales it is the seller of
    assert recovery_by_mode(db, sale["sc"].bank.id)[0]["sales"] == 1
    assert recovery_by_mode(db, sale["sc"].pledgor.id) == []


def test_a_balance_payment_for_no_sale_source_is_refused(db, actors):
    sale = make_sale(db, actors, parties=())
    buyer = db.get(User, sale["buyer"].user["id"])
    with pytest.raises(NotFound):
        payments.start_balance_payment(db, listing_id=999999999, user=buyer, method="offline")


def test_auctions_answer_the_round_figures_of_listing_cards(db, actors):
    seller = actors.user("bank")
    lid, aid = make_auction(db, seller, start_price="120000.00")
    assert auction_rounds.provided
    figures = round_figures(db, [db.get(Listing, lid)])
    assert figures[lid].start_price == Decimal("120000.00")
    assert figures[lid].bid_count == 0 and figures[lid].current_price is None
