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

    from . import api, dossier, market_facts, public_assets, sale_sources, seed, services, web
    from .modes import licensing, licensing_api, licensing_web, royalties, royalty_reminders

    register(app, api.blp)
    register(app, licensing_api.blp)
    hooks.register("payment.paid", licensing.on_payment_paid)
    hooks.register("payment.paid", royalties.on_payment_paid)
    hooks.register("ledger.verify", licensing.verify)
    register_jobs(app, Job("licensing.cancel_unpaid", licensing.cancel_unpaid, 60),
                  Job("licensing.expire", licensing.expire, 300),
                  Job("licensing.bill_minimum_royalties", royalties.bill_minimums, 3600),
                  Job("licensing.remind_royalty_reports", royalty_reminders.remind_reports, 3600),
                  Job("licensing.flag_overdue_royalties", royalty_reminders.flag_overdue, 3600))
    csrf.exempt(api.blp)  # bearer-token API: no cookies, no CSRF (the web forms keep it)
    hooks.register("settlement.settled", services.transfer_sold_assets)
    hooks.register("marketdata.listing_facts", market_facts.listing_facts)
    providers.sale_sources.provide(sale_sources.sale_sources)
    providers.describe_sale_source.provide(sale_sources.describe)
    hooks.register("asset.public_ids", public_assets.public_asset_ids)
    hooks.register("loan.dossier", dossier.loan_dossier)
    providers.asset_in_live_listing.provide(sale_sources.asset_in_live_listing)
    providers.assets_sold_by.provide(sale_sources.assets_sold_by)
    _transfer(app)
    web.init_app(app)
    licensing_web.init_app(app)
    seed.init_app(app)
    _init_equity(app, register, csrf, hooks)


def _init_equity(app: Flask, register, csrf, hooks) -> None:
    """Equity contribution (作价入股): its API and the settlement / listing hooks."""
    from .modes import equity, equity_api, equity_web

    register(app, equity_api.blp)
    csrf.exempt(equity_api.blp)
    equity_web.init_app(app)
    hooks.register("settlement.settled", equity.on_settlement_settled)
    hooks.register("settlement.defaulted", equity.on_settlement_defaulted)
    hooks.register("listing.closed", equity.on_listing_closed)


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
