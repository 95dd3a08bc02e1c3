"""Demo (order 40): the demo investors qualify in the open auctions and bid through the real
bid path; one auction closes in a few minutes; a pending bank transfer waits on the desk."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from market import lifecycle
from market.payments.models import Deposit
from market.timeutil import utcnow

from . import deposits, engine
from .models import Auction


def _deposit(s, auction: Auction, user, held: bool) -> Deposit:
    dep = Deposit(listing_id=auction.listing_id, auction_id=auction.id, user_id=user.id,
                  org_id=user.org_id,
                  amount=auction.deposit_amount, currency=auction.currency, method="offline",
                  status="pending", reference="DEP" + uuid.uuid4().hex[:10].upper(),
                  idempotency_key=f"demo-{auction.id}-{user.id}", created_at=utcnow())
    s.add(dep)
    s.flush()
    if held:
        deposits.mark_held(s, dep, actor_id=None)
    return dep


def seed(s, ctx) -> None:
    inv, inv2 = ctx.users.get("investor"), ctx.users.get("investor2")
    if inv is None or inv2 is None:
        return
    now = utcnow()
    live = list(s.scalars(select(Auction).where(Auction.status.in_(("open", "scheduled")))
                          .order_by(Auction.id)))
    opened = [a for a in live if a.starts_at <= now < a.ends_at]
    for i, a in enumerate(opened):
        _deposit(s, a, inv, True)
        _deposit(s, a, inv2, True)
        if a.status == "scheduled":
            lifecycle.move(s, a, "open", reason="demo")
        price = a.start_price
        for k in range(3 + i):
            bidder = (inv, inv2)[k % 2]
            engine.place_bid(s, a.id, bidder.id, price)
            price += a.increment * (1 + k % 3)
    if opened:  # the first one closes soon, so the demo shows a close and the urgent clock
        soon = opened[0]
        soon.ends_at = now + dt.timedelta(minutes=10)
        s.flush()
    for a in live:
        if a not in opened:
            _deposit(s, a, inv2, False)  # waits on the operator's deposits desk
    ctx.lines.append(f"  auctions: {len(opened)} open with bids (one closing in 10 minutes), "
                     f"{len(live) - len(opened)} scheduled")
