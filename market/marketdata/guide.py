"""The start-price guide for one asset (API.md "Market data")."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from sqlalchemy.orm import Session

from .. import settings_store
from ..assets.models import Asset
from ..money import CENT, cents
from .index import median
from .sales import Sale, settled_sales, value_on

MAX_COMPARABLES = 10
PREFIX = 4  # characters of the classification two comparable assets share


def comparable(asset: Asset, sale: Sale) -> bool:
    """A sale with an asset of the same kind sharing the first 4 characters of its
    classification (any classification when the asset has none), with a known ratio."""
    if sale.price_to_value is None:
        return False
    prefix = (asset.classification or "")[:PREFIX]
    return any(a.kind == asset.kind and (not prefix or (a.classification or "")[:PREFIX] == prefix)
               for a in sale.assets)


def suggested_start_price(value: Decimal, floor: Decimal, ratio: Decimal | None) -> Decimal:
    """max(floor, value × median ratio) rounded down to the yuan; no ratio → the floor.
    Rounding down never takes it below the floor: a floor with fen stays the floor."""
    if ratio is None:
        return floor
    guided = max(floor, value * ratio).quantize(Decimal("1"), rounding=ROUND_DOWN)
    return max(cents(guided), floor)


def price_guide(session: Session, asset: Asset, today: dt.date, tz: str,
                sales: list[Sale] | None = None) -> dict:
    """`sales`: settled_sales already read (guides for several assets read them once)."""
    value = value_on([asset], today)
    if value is None:
        return {"value": None, "floor": None, "comparables": None,
                "median_price_to_value": None, "suggested_start_price": None}
    # Up to the fen: the least price the start-price rule (listings/rules.py) accepts.
    floor = (value * settings_store.get(session, "start_price_floor_ratio")).quantize(
        CENT, rounding=ROUND_UP)
    if sales is None:
        sales = settled_sales(session, tz)
    comparables = [s for s in sales if comparable(asset, s)]
    comparables = comparables[:MAX_COMPARABLES]  # newest first already
    ratio = median([s.price_to_value for s in comparables])
    return {"value": value, "floor": floor, "comparables": comparables,
            "median_price_to_value": ratio,
            "suggested_start_price": suggested_start_price(value, floor, ratio)}
