"""Listing lifecycle, moderation, search, data rooms."""
from flask import Flask


def init_app(app: Flask) -> None:
    from market.api import register
    from market.extensions import csrf

    from . import api, seed, web

    register(app, api.blp)
    csrf.exempt(api.blp)  # bearer-token API: no cookies, no CSRF (the web forms keep it)
    web.init_app(app)
    seed.init_app(app)
