"""Demo (order 45): two years of settled auctions across several IP kinds, so the market
page (市场行情) has an index to chart. Each sale is made by the real flows — registering and
appraising the asset, listing, approval, deposits, bids, the close, payment and
settlement — with each step run under an injected clock (market.timeutil.clock) set to
the moment it happened: every row, ledger entry and audit record carries its own date."""
from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

from flask import Flask, current_app
from sqlalchemy.orm import Session

from listings import services as listings
from listings.seed import _auction_terms, _round
from market.assets import services as assets
from market.demo import DemoContext, add_seeder
from market.payments import deposits as payments_deposits
from market.payments import services as payments
from market.timeutil import clock, utcnow

from . import closing, deposits, engine
from .models import Auction

D = Decimal
QUARTERS = 8
SALES_PER_QUARTER = 3

# kind, classification, title, appraised value
KINDS = [
    ("invention_patent", "F16H 1/32", "谐波减速器柔轮结构", D("1800000.00")),
    ("invention_patent", "H01M 10/05", "固态电解质制备方法", D("4200000.00")),
    ("utility_model", "F16H 57/02", "减速机箱体密封结构", D("380000.00")),
    ("software_copyright", "G06F 8/00", "工业设备远程运维平台软件", D("1200000.00")),
    ("trademark", "Nice 9", "智测 ZHICE 商标（第9类）", D("650000.00")),
    ("design_patent", "Locarno 14-02", "手持检测仪外观设计", D("260000.00")),
    ("ic_layout", "H01L 27/02", "电源管理芯片布图设计", D("2100000.00")),
]


class _Clock:
    """The injected clock: set to an instant, it answers that instant."""

    def __init__(self, at: dt.datetime):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def _sale(s: Session, app, ctx: DemoContext, t: _Clock, spec, seller, bidders, rng) -> None:
    kind, cls, title, value = spec
    op = ctx.users["operator"]
    start = t.at
    asset = assets.create_asset(
        s, kind=kind, registry_no=f"HIST-{uuid.uuid4().hex[:10].upper()}", title=title,
        owner_org_id=seller.org_id, expires_on=start.date() + dt.timedelta(days=3650),
        classification=cls, actor_id=seller.id)
    assets.add_valuation(s, asset.id, amount=value, method="income", agency="中联资产评估集团有限公司",
                         valued_on=start.date() - dt.timedelta(days=20), actor_id=seller.id)
    start_price = _round(value * D("0.70"), D("1000"))
    opens = start + dt.timedelta(hours=2)
    listing = listings.create_listing(s, seller, {
        "title": f"{title}拍卖", "mode": "auction", "asset_ids": [asset.id],
        "description": "Historical sale (demo market history).",
        "auction": _auction_terms(start_price, opens, days=3)})
    listings.submit(s, seller, listing)
    t.at = opens
    listings.approve(s, op, listing)  # the round opens at once
    auction = s.get(Auction, listing.auction_id)
    for user in bidders:
        t.at += dt.timedelta(minutes=10)
        dep = deposits.start_deposit(s, auction.id, user, "offline")
        payments_deposits.confirm_offline(s, dep.id, op.id)
    # The market moves with the quarter; each sale lands somewhere around it.
    steps = max(0, int(rng.gauss(12 + 4 * (start.month % 4), 8)))
    price = auction.start_price
    for k in range(2 + steps // 6):
        t.at += dt.timedelta(hours=3)
        engine.place_bid(s, auction.id, bidders[k % 2].id, price)
        price += auction.increment * (1 + steps % 6 if k == 0 else 6)
    t.at = auction.ends_at + dt.timedelta(minutes=1)
    s.refresh(auction)
    closing.close_auction(s, auction, app)
    t.at += dt.timedelta(days=rng.randint(1, 5))
    winner = next(u for u in bidders if u.id == auction.winner_user_id)
    pay = payments.start_balance_payment(s, listing_id=listing.id, user=winner, method="offline")
    payments.confirm_offline(s, pay.id, actor_id=op.id)  # settles as of this instant


def seed(s: Session, ctx: DemoContext) -> None:
    owners = [ctx.users.get("owner"), ctx.users.get("owner2")]
    bidders = [ctx.users.get("investor"), ctx.users.get("investor2")]
    if None in owners or None in bidders or "operator" not in ctx.users:
        return
    app = current_app._get_current_object()
    rng = random.Random(24)  # the same history on every seed
    first = utcnow() - dt.timedelta(days=QUARTERS * 91 + 10)
    n = 0
    for q in range(QUARTERS):
        for k in range(SALES_PER_QUARTER):
            at = first + dt.timedelta(days=q * 91 + k * 27 + rng.randint(0, 8))
            t = _Clock(at.replace(hour=2, minute=0, second=0, microsecond=0))
            with clock(t):
                _sale(s, app, ctx, t, KINDS[(q * SALES_PER_QUARTER + k) % len(KINDS)],
                      owners[(q + k) % 2], bidders if k % 2 else bidders[::-1], rng)
            n += 1
    ctx.lines.append(f"  market history: {n} settled auctions over {QUARTERS} quarters "
                     "(市场行情 / Market page)")


def init_app(app: Flask) -> None:
    add_seeder(app, 45, seed)
