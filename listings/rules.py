"""The rules a listing must meet, checked on create, on submit and on approve.

Thresholds are operator settings (market/settings_store.py) with their legal source:
- 法释〔2016〕18号 (最高人民法院网络司法拍卖规定): start price ≥ 70% of the latest valid
  appraisal of pledged IP; deposit 5–20% of the start price; bidding ≥ 24 hours.
- 专利权质押登记办法 / DOMAIN.md: an asset not in force cannot be disposed of.
Each refusal is a 422 with its own code.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterable

from flask import current_app
from sqlalchemy.orm import Session

from market import settings_store
from market.assets.models import Asset, Valuation
from market.errors import Invalid
from market.timeutil import business_date, utcnow

from .models import Listing


def market_date(instant: dt.datetime) -> dt.date:
    return business_date(instant, current_app.config.get("MARKET_TIMEZONE", "Asia/Shanghai"))


def valuation_on(asset: Asset, on: dt.date) -> Valuation | None:
    """The asset's value on a date: its latest valuation valid that day (动态评估)."""
    valid = [v for v in asset.valuations if v.valued_on <= on <= v.valid_until]
    if not valid:
        return None
    return max(valid, key=lambda v: (v.valued_on, v.id or 0))


def check_auction_terms(session: Session, listing: Listing) -> None:
    """The terms alone (no database objects needed)."""
    if listing.mode != "auction":
        return
    start, end = listing.starts_at, listing.ends_at
    if end <= start:
        raise Invalid("ends_before_start", "the auction must end after it starts")
    min_s = settings_store.get(session, "min_auction_seconds")
    if (end - start).total_seconds() < min_s:
        raise Invalid("auction_too_short",
                      f"bidding must last at least {min_s} seconds (法释〔2016〕18号)")
    if listing.start_price is None or listing.start_price <= 0:
        raise Invalid("start_price_not_positive", "the start price must be greater than zero")
    if listing.increment is None or listing.increment <= 0:
        raise Invalid("increment_not_positive", "the bid increment must be greater than zero")
    lo = settings_store.get(session, "deposit_min_ratio")
    hi = settings_store.get(session, "deposit_max_ratio")
    if not (listing.start_price * lo <= listing.deposit <= listing.start_price * hi):
        raise Invalid("deposit_out_of_range",
                      f"the deposit must be {lo * 100:.0f}%–{hi * 100:.0f}% of the start price "
                      "(法释〔2016〕18号)")
    if listing.reserve_price is not None and listing.reserve_price < listing.start_price:
        raise Invalid("reserve_below_start", "the reserve price may not be below the start price")
    if listing.backstop_price is not None and listing.backstop_price > listing.start_price:
        raise Invalid("backstop_above_start",
                      "a backstop purchase price may not be above the start price")
    most = settings_store.get(session, "reauction_max_cut")
    if listing.reauction_cut is not None and listing.reauction_cut > most:
        raise Invalid("reauction_cut_too_large",
                      f"再次拍卖降价幅度不得超过 {most}（法释〔2016〕18号第二十六条）/ The "
                      f"re-auction cut may be at most {most} (法释〔2016〕18号 art. 26)")
    if listing.extension_window_s <= 0 or listing.extension_s <= 0:
        raise Invalid("extension_not_positive", "soft-close window and extension must be positive")


def check_assets(session: Session, listing: Listing, assets: Iterable[Asset],
                 today: dt.date | None = None) -> None:
    """Assets in force; for a collateral-disposal auction, the appraisal floor."""
    assets = list(assets)
    today = today or market_date(utcnow())
    for a in assets:
        if not a.in_force(today):
            raise Invalid("asset_not_in_force",
                          f"asset {a.registry_no} is not in force ({a.legal_status}, "
                          f"expires {a.expires_on})")
    if listing.mode != "auction" or listing.loan_id is None:
        return
    on = market_date(listing.starts_at)
    total = Decimal("0.00")
    for a in assets:
        v = valuation_on(a, on)
        if v is None:
            raise Invalid("no_valid_valuation",
                          f"asset {a.registry_no} has no appraisal valid on {on} "
                          "(法释〔2016〕18号 requires a current appraisal)")
        total += v.amount
    ratio = settings_store.get(session, "start_price_floor_ratio")
    floor = total * ratio
    if listing.start_price < floor:
        raise Invalid("start_price_below_floor",
                      f"the start price must be at least {ratio * 100:.0f}% of the appraisal "
                      f"({total:.2f} on {on}), i.e. {floor.quantize(Decimal('0.01'))} "
                      "(法释〔2016〕18号)")
    if listing.backstop_price is not None and listing.backstop_price < floor:
        raise Invalid("start_price_below_floor",
                      f"托底价不得低于评估值的{ratio * 100:.0f}% / "
                      f"The backstop price must be at least {ratio * 100:.0f}% of the appraisal "
                      f"({total:.2f} on {on}), i.e. {floor.quantize(Decimal('0.01'))} "
                      "(法释〔2016〕18号)")


def appraisal_total(assets: Iterable[Asset], on: dt.date) -> Decimal | None:
    total = Decimal("0.00")
    for a in assets:
        v = valuation_on(a, on)
        if v is None:
            return None
        total += v.amount
    return total


def check_all(session: Session, listing: Listing, assets: Iterable[Asset]) -> None:
    check_auction_terms(session, listing)
    check_assets(session, listing, assets)
