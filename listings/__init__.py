"""Listing lifecycle, moderation, search, data rooms."""
from flask import Flask


def init_app(app: Flask) -> None:
    from market.api import register
    from market.extensions import csrf

    from market import hooks

    from . import api, dossier, seed, services, web

    register(app, api.blp)
    csrf.exempt(api.blp)  # bearer-token API: no cookies, no CSRF (the web forms keep it)
    hooks.register("settlement.settled", services.transfer_sold_assets)
    hooks.register("loan.dossier", dossier.loan_dossier)
    web.init_app(app)
    seed.init_app(app)
