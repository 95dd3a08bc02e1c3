"""Listing lifecycle, moderation, search, data rooms."""
from flask import Flask


def init_app(app: Flask) -> None:
    from market.api import register
    from market.extensions import csrf

    from market import hooks

    from . import api, public_assets, seed, services, web

    register(app, api.blp)
    csrf.exempt(api.blp)  # bearer-token API: no cookies, no CSRF (the web forms keep it)
    hooks.register("settlement.settled", services.transfer_sold_assets)
    hooks.register("asset.public_ids", public_assets.public_asset_ids)
    web.init_app(app)
    seed.init_app(app)
