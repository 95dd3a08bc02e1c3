"""Deposits belong to the core (market/payments/deposits.py): a sale that is not an
auction — a transfer's registration — takes, holds, releases, applies and forfeits a
deposit keyed by its listing alone, with the same ledger entries an auction's has."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from auctions.models import AuctionBidder
from market.errors import Conflict
from market.payments import deposits
from market.payments.models import Deposit
from market.settlement import ledger
from market.settlement.cli import verify
from market.timeutil import utcnow
from tests.settlement_helpers import Scenario

D = Decimal


def _start(db, sc, user=None) -> Deposit:
    return deposits.start(db, listing_id=sc.listing_id, auction_id=None, user=user or sc.buyer,
                          amount=D("50000.00"), currency="CNY", method="offline")


def test_a_listing_deposit_is_held_without_an_auction(app, db):
    sc = Scenario(db)
    dep = _start(db, sc)
    assert (dep.status, dep.auction_id, dep.listing_id) == ("pending", None, sc.listing_id)
    with pytest.raises(Conflict) as err:
        _start(db, sc)
    assert err.value.code == "deposit_exists"
    deposits.confirm_offline(db, dep.id, actor_id=sc.bank_user.id)
    db.commit()
    db.expire_all()
    dep = db.get(Deposit, dep.id)
    assert dep.status == "held" and dep.confirmed_by == sc.bank_user.id
    # No owner took it (no auction): held by the core, no bidder admitted.
    assert db.scalar(select(func.count()).select_from(AuctionBidder)) == 0
    assert ledger.balance(db, "deposits_held", sc.buyer_org.id) == D("-50000.00")
    with pytest.raises(Conflict) as err:
        deposits.confirm_offline(db, dep.id, actor_id=sc.bank_user.id)
    assert err.value.code == "deposit_not_pending"
    db.rollback()
    assert verify(db) == []


def test_a_listing_deposit_is_released_applied_or_forfeited(app, db):
    sc = Scenario(db)
    other = Scenario(db)
    now = utcnow()
    loser, buyer, defaulter = (_start(db, sc), _start(db, sc, other.buyer),
                               _start(db, sc, sc.bank_user))
    for d in (loser, buyer, defaulter):
        deposits.confirm(db, d, actor_id=None)
    deposits.release(db, loser, now, "not chosen")
    deposits.apply_to_price(db, buyer, now)
    deposits.forfeit(db, defaulter, now)
    db.commit()
    db.expire_all()
    assert [db.get(Deposit, d.id).status for d in (loser, buyer, defaulter)] == [
        "released", "applied", "forfeited"]
    assert db.get(Deposit, loser.id).released_at is not None  # offline: money back now
    assert ledger.balance(db, "forfeited_deposits", sc.bank.id) == D("-50000.00")
    assert ledger.balance(db, "deposits_held", sc.buyer_org.id) == 0
    # A pending deposit of a sale that did not happen is cancelled.
    late = _start(db, sc, other.bank_user)
    deposits.release(db, late, now, "registration closed")
    db.commit()
    assert db.get(Deposit, late.id).status == "cancelled"
    assert verify(db) == []
