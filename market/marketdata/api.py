"""GET /api/v1/market/sales, /market/index (no token) and /assets/{id}/price-guide."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from marshmallow import Schema, fields, validate

from ..api import API_PREFIX, Blueprint, MoneyField, PageArgs, api_auth, page_schema
from ..assets import services as assets
from ..api import api_user
from ..assets import access
from ..assets.api import errors
from ..errors import NotFound
from ..assets.models import ASSET_KINDS
from ..db import get_session
from ..timeutil import business_date, utcnow
from .guide import price_guide
from .index import INTERVALS, by_quarter
from .sales import settled_sales

blp = Blueprint("marketdata_api", __name__, url_prefix=API_PREFIX,
                description="Market data: settled sales, the price index, price guides")

FIRST_DAY, LAST_DAY = dt.date(1990, 1, 1), dt.date(2199, 12, 31)


class RatioField(fields.Decimal):
    """A price-to-value ratio: a decimal string with 4 places."""

    def __init__(self, **kw):
        kw.setdefault("metadata", {}).update({"type": "string", "example": "0.8125"})
        super().__init__(places=4, as_string=True, allow_none=True, **kw)


class SaleOut(Schema):
    listing_id = fields.Integer(required=True)
    mode = fields.String(required=True, metadata={"enum": ["auction", "transfer", "equity"]})
    kinds = fields.List(fields.String(), required=True)
    classification = fields.String(allow_none=True)
    currency = fields.String(required=True)
    price = MoneyField(required=True)
    value = MoneyField(allow_none=True, metadata={
        "description": "the assets' value on the sale's as_of (null: no valid valuation)"})
    price_to_value = RatioField()
    settled_on = fields.Date(required=True)
    rounds = fields.Integer(allow_none=True, metadata={
        "description": "the auction round the sale was made in"})


class IndexItem(Schema):
    period = fields.String(required=True, metadata={"example": "2026-Q3"})
    n = fields.Integer(required=True)
    median_price_to_value = RatioField()
    p25 = RatioField()
    p75 = RatioField()
    volume = MoneyField(required=True)


class IndexOut(Schema):
    items = fields.List(fields.Nested(IndexItem), required=True)


class PriceGuideOut(Schema):
    value = MoneyField(allow_none=True)
    floor = MoneyField(allow_none=True)
    comparables = fields.List(fields.Nested(SaleOut), allow_none=True)
    median_price_to_value = RatioField()
    suggested_start_price = MoneyField(allow_none=True)


def _day(**kw):
    return fields.Date(load_default=None, validate=validate.Range(min=FIRST_DAY, max=LAST_DAY),
                       **kw)


class SalesQuery(PageArgs):
    kind = fields.String(load_default=None, validate=validate.OneOf(ASSET_KINDS))
    classification = fields.String(load_default=None, validate=validate.Length(max=120))
    from_ = _day(data_key="from")
    to = _day()


class IndexQuery(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(ASSET_KINDS))
    interval = fields.String(load_default="quarter", validate=validate.OneOf(INTERVALS))


def _tz() -> str:
    return current_app.config["MARKET_TIMEZONE"]


@blp.get("/market/sales")
@errors(blp, 422)
@blp.arguments(SalesQuery, location="query")
@blp.response(200, page_schema(SaleOut, "MarketSalePage"))
def market_sales(args):
    """Settled sales with a price, newest first; never the buyer."""
    sales = settled_sales(get_session(), _tz(), kind=args["kind"],
                          classification=(args["classification"] or "").strip() or None,
                          date_from=args["from_"], date_to=args["to"])
    page, per_page = args["page"], args["per_page"]
    chunk = sales[(page - 1) * per_page: page * per_page]
    return {"items": [s.as_dict() for s in chunk], "total": len(sales), "page": page,
            "per_page": per_page}


@blp.get("/market/index")
@errors(blp, 422)
@blp.arguments(IndexQuery, location="query")
@blp.response(200, IndexOut)
def market_index(args):
    """Per calendar quarter of settled_on (market time zone): n, quartiles of
    price-to-value, volume."""
    return {"items": by_quarter(settled_sales(get_session(), _tz(), kind=args["kind"]))}


@blp.get("/assets/<int:asset_id>/price-guide")
@errors(blp, 401, 403, 404)
@api_auth("bank", "owner", "operator")
@blp.response(200, PriceGuideOut)
@blp.doc(security=[{"bearer": []}])
def asset_price_guide(asset_id: int):
    """For whoever may add the asset's valuations: value, floor, comparables and the
    suggested start price."""
    s = get_session()
    asset = assets.get_asset(s, asset_id)
    # Whoever may add the asset's valuations (API.md), proposals included; others 404.
    if access.change_right(s, api_user(), asset) is access.Right.NONE:
        raise NotFound("asset")
    guide = price_guide(s, asset, business_date(utcnow(), _tz()), _tz())
    if guide["comparables"] is not None:
        guide["comparables"] = [c.as_dict() for c in guide["comparables"]]
    return guide
