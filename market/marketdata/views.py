"""The public 市场行情 / Market page: the price index as a chart and the recent sales,
filterable by IP kind and classification prefix. No login needed (like the API reads)."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l

from ..assets.labels import KIND_LABELS
from ..assets.models import ASSET_KINDS
from ..db import get_session
from ..web import add_nav
from .chart import index_chart
from .index import by_quarter
from .sales import settled_sales

bp = Blueprint("marketdata_web", __name__)

MODE_LABELS = {"auction": _l("Auction"), "transfer": _l("Listed transfer"),
               "equity": _l("Equity to a nominee")}
RECENT = 20


@bp.route("/market")
def market():
    kind = request.args.get("kind") or None
    kind = kind if kind in ASSET_KINDS else None
    prefix = (request.args.get("classification") or "").strip()[:120] or None
    sales = settled_sales(get_session(), current_app.config["MARKET_TIMEZONE"], kind=kind,
                          classification=prefix)
    index = by_quarter(sales)
    return render_template("marketdata/market.html", kind=kind, prefix=prefix or "",
                           kinds=ASSET_KINDS, kind_labels=KIND_LABELS, mode_labels=MODE_LABELS,
                           index=index, chart=index_chart(index), sales=sales[:RECENT],
                           total=len(sales))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "marketdata_web.market", _l("Market"), order=15)
