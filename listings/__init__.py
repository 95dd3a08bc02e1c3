"""Listing lifecycle, moderation, search, data rooms.

Permission checks: roles at the entry points (api.py api_auth, web.py role_required);
who may see or change a listing in services.py (can_see, visibility_clause,
_require_seller, _require_operator), its documents in dataroom.py (can_manage)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from market.api import register
    from market.extensions import csrf

    from market import hooks, providers

    from market.scheduler import Job, register as register_jobs

    from . import api, market_facts, sale_sources, seed, services, web
    from .modes import licensing, licensing_api, licensing_web, royalties

    register(app, api.blp)
    register(app, licensing_api.blp)
    hooks.register("payment.paid", licensing.on_payment_paid)
    hooks.register("payment.paid", royalties.on_payment_paid)
    hooks.register("ledger.verify", licensing.verify)
    register_jobs(app, Job("licensing.cancel_unpaid", licensing.cancel_unpaid, 60),
                  Job("licensing.expire", licensing.expire, 300),
                  Job("licensing.bill_minimum_royalties", royalties.bill_minimums, 3600))
    csrf.exempt(api.blp)  # bearer-token API: no cookies, no CSRF (the web forms keep it)
    hooks.register("settlement.settled", services.transfer_sold_assets)
    hooks.register("marketdata.listing_facts", market_facts.listing_facts)
    providers.sale_sources.provide(sale_sources.sale_sources)
    providers.describe_sale_source.provide(sale_sources.describe)
    web.init_app(app)
    licensing_web.init_app(app)
    seed.init_app(app)
