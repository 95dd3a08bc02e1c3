"""Demo (order 35): a listed transfer whose disclosure period has just ended with two
registered buyers, so the first scheduler run opens the auction among them (the seeded
trademark transfer of listings/seed.py is the one still in its period). It is published
and registered as of past instants (market.timeutil.clock), through the real services."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app

from market import calendar
from market.demo import DemoContext, add_seeder
from market.payments import deposits as payments_deposits
from market.timeutil import business_date, clock, utcnow

from .. import services
from ..seed import _asset
from . import transfer

ASSET = ("drive", "owner", "invention_patent", "ZL202110778899.2", "伺服电机一体化驱动器",
         "H02K 11/33", "Integrated servo motor drive with on-board encoder processing.",
         Decimal("1000000.00"))


def _published_at(s) -> dt.datetime:
    """An instant whose period (the rule's 10 working days) ended a day or so ago."""
    now = utcnow()
    if current_app.config.get("MARKET_DISCLOSURE_SECONDS"):
        return now - dt.timedelta(seconds=current_app.config["MARKET_DISCLOSURE_SECONDS"] + 60)
    today = business_date(now, current_app.config["MARKET_TIMEZONE"])
    back = next(b for b in range(12, 60)
                if calendar.nth_working_day_after(s, today - dt.timedelta(days=b), 10) < today)
    return now - dt.timedelta(days=back)


def seed(s, ctx: DemoContext) -> None:
    op, owner = ctx.users.get("operator"), ctx.users.get("owner")
    buyers = [ctx.users.get("investor"), ctx.users.get("investor2")]
    if op is None or owner is None or None in buyers:
        return
    asset = _asset(s, ctx, ASSET, business_date(utcnow(), current_app.config["MARKET_TIMEZONE"]))
    at = _published_at(s)
    with clock(lambda: at):
        listing = services.create_listing(s, owner, {
            "title": "伺服驱动器发明专利挂牌转让", "mode": "transfer", "asset_ids": [asset.id],
            "description": "Listed transfer; two buyers registered in the disclosure period.",
            "transfer": {"list_price": Decimal("950000.00"), "deposit": Decimal("95000.00"),
                         "increment": Decimal("10000.00")}})
        services.submit(s, owner, listing)
        services.approve(s, op, listing)
    with clock(lambda: at + dt.timedelta(hours=2)):
        for user in buyers:
            dep = transfer.register(s, user, listing, "offline")
            payments_deposits.confirm(s, dep, actor_id=op.id)
    ctx.lines.append(f"  transfer: listing {listing.id} ended with two registered buyers "
                     "(the scheduler opens their auction)")


def init_app(app) -> None:
    add_seeder(app, 35, seed)
