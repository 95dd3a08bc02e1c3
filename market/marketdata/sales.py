"""Settled sales as market evidence: price beside the assets' value at the sale.

Reads settlements (status settled) and the assets' valuations; the listing's mode and
assets and the sale's round come from the packages that made the sale (sources.py).
Never the buyer: nothing here reads or returns who bought.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..assets.models import Asset
from ..settlement.models import Settlement
from ..timeutil import business_date
from . import sources

# Modes whose settlement is a sale at a price (an equity listing is settled only when a
# nominee buys); licences and agreed valuations are not sales of the IP.
PRICED_MODES = ("auction", "transfer", "equity")
RATIO = Decimal("0.0001")


@dataclass(frozen=True)
class SaleAsset:
    kind: str
    classification: str | None


@dataclass(frozen=True)
class Sale:
    listing_id: int
    mode: str
    assets: tuple[SaleAsset, ...]
    currency: str
    price: Decimal
    value: Decimal | None
    price_to_value: Decimal | None
    settled_on: dt.date
    settled_at: dt.datetime
    rounds: int | None

    @property
    def kinds(self) -> list[str]:
        return sorted({a.kind for a in self.assets})

    @property
    def classification(self) -> str | None:
        """The first asset's classification that is known (the listing's order)."""
        return next((a.classification for a in self.assets if a.classification), None)

    def as_dict(self) -> dict:
        return {"listing_id": self.listing_id, "mode": self.mode, "kinds": self.kinds,
                "classification": self.classification, "currency": self.currency,
                "price": self.price, "value": self.value,
                "price_to_value": self.price_to_value, "settled_on": self.settled_on,
                "rounds": self.rounds}


def ratio(price: Decimal, value: Decimal | None) -> Decimal | None:
    if not value:
        return None
    return (Decimal(price) / Decimal(value)).quantize(RATIO, rounding=ROUND_HALF_UP)


def value_on(assets: list[Asset], on: dt.date) -> Decimal | None:
    """The assets' value on a date (API.md Conventions): the sum of each asset's latest
    valuation valid that day; None when any asset has none."""
    total = Decimal("0.00")
    for asset in assets:
        valid = [v for v in asset.valuations if v.valued_on <= on <= v.valid_until]
        if not valid:
            return None
        total += max(valid, key=lambda v: (v.valued_on, v.id)).amount
    return total if assets else None


def _utc_start(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZoneInfo(tz)).astimezone(dt.timezone.utc)


def matches(sale: Sale, kind: str | None, classification: str | None) -> bool:
    """`kind` matches a sale with any asset of that kind; `classification` is a prefix of
    any of its assets' classifications."""
    if kind and not any(a.kind == kind for a in sale.assets):
        return False
    if classification and not any((a.classification or "").startswith(classification)
                                  for a in sale.assets):
        return False
    return True


def settled_sales(session: Session, tz: str, *, kind: str | None = None,
                  classification: str | None = None, date_from: dt.date | None = None,
                  date_to: dt.date | None = None) -> list[Sale]:
    """Every settled sale with a price, newest first, filtered as the API asks."""
    stmt = (select(Settlement).where(Settlement.status == "settled",
                                     Settlement.settled_at.is_not(None))
            .order_by(Settlement.settled_at.desc(), Settlement.id.desc()))
    if date_from is not None:
        stmt = stmt.where(Settlement.settled_at >= _utc_start(date_from, tz))
    if date_to is not None:
        stmt = stmt.where(Settlement.settled_at < _utc_start(date_to + dt.timedelta(days=1), tz))
    rows = list(session.scalars(stmt))
    # An agreed valuation is a sale no listing made: it is no market evidence.
    rows = [st for st in rows if st.listing_id is not None]
    facts = sources.listing_facts(session, (st.listing_id for st in rows))
    rounds = sources.sale_rounds(session, (st.sale_ref for st in rows))
    asset_ids = {a for f in facts.values() for a in f.get("asset_ids", ())}
    assets = ({a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))}
              if asset_ids else {})
    out: list[Sale] = []
    for st in rows:
        fact = facts.get(st.listing_id)
        if fact is None or fact.get("mode") not in PRICED_MODES:
            continue
        sold = [assets[a] for a in fact.get("asset_ids", ()) if a in assets]
        value = value_on(sold, st.as_of)
        sale = Sale(listing_id=st.listing_id, mode=fact["mode"],
                    assets=tuple(SaleAsset(a.kind, a.classification) for a in sold),
                    currency=st.currency, price=st.price, value=value,
                    price_to_value=ratio(st.price, value),
                    settled_on=business_date(st.settled_at, tz), settled_at=st.settled_at,
                    rounds=rounds.get(st.sale_ref))
        if matches(sale, kind, classification):
            out.append(sale)
    return out
