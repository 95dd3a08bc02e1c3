"""Listing lifecycle, moderation, search, data rooms.

Permission checks: roles at the entry points (api.py api_auth, web.py role_required);
who may see or change a listing in services.py (can_see, visibility_clause,
_require_seller, _require_operator), its documents in dataroom.py (can_manage)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from market.api import register
    from market.extensions import csrf

    from market import hooks, providers

    from . import api, market_facts, sale_sources, seed, services, web

    register(app, api.blp)
    csrf.exempt(api.blp)  # bearer-token API: no cookies, no CSRF (the web forms keep it)
    hooks.register("settlement.settled", services.transfer_sold_assets)
    hooks.register("marketdata.listing_facts", market_facts.listing_facts)
    providers.sale_sources.provide(sale_sources.sale_sources)
    providers.describe_sale_source.provide(sale_sources.describe)
    _transfer(app)
    web.init_app(app)
    seed.init_app(app)


def _transfer(app: Flask) -> None:
    """Listed transfer: its period starts on publication and the scheduler decides it."""
    from market import hooks
    from market.scheduler import Job
    from market.scheduler import register as register_jobs

    from .modes import transfer, transfer_demo, transfer_web

    transfer_web.init_app(app)
    transfer_demo.init_app(app)
    hooks.register("listing.published", transfer.on_published)
    hooks.register("listing.closed", transfer.on_closed)
    hooks.register("settlement.settled", transfer.on_settlement_settled)
    hooks.register("settlement.defaulted", transfer.on_settlement_defaulted)
    register_jobs(app, Job("listings.transfer_decide", transfer.decide_due, 1.0))
