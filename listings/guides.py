"""The start-price guide on the listing form: each asset's suggested start price
(market/marketdata/guide.py), and their sum as the default start price."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.assets.models import Asset
from market.marketdata.guide import PREFIX, price_guide
from market.marketdata.sales import settled_sales


def evidence_url(asset: Asset) -> str:
    """The market page filtered to the asset's comparables."""
    return url_for("marketdata_web.market", kind=asset.kind,
                   classification=(asset.classification or "")[:PREFIX] or None)


def asset_guides(session: Session, asset_ids: list[int], today: dt.date, tz: str) -> dict:
    """{asset_id: {guide…, "evidence": url}} for the assets offered on the form."""
    if not asset_ids:
        return {}
    sales = settled_sales(session, tz)
    return {a.id: {**price_guide(session, a, today, tz, sales), "evidence": evidence_url(a)}
            for a in session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))}


def default_start_price(guides: dict, chosen: list[int]) -> Decimal | None:
    """The sum of the chosen assets' suggestions (each at least its floor); None unless
    every chosen asset has one."""
    picks = [guides.get(a, {}).get("suggested_start_price") for a in chosen]
    if not picks or any(p is None for p in picks):
        return None
    return sum(picks, Decimal("0.00"))
