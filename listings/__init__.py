"""Listing lifecycle, moderation, search, data rooms."""
from flask import Flask


def init_app(app: Flask) -> None:
    from market.api import register

    from . import api, seed, web

    register(app, api.blp)
    web.init_app(app)
    seed.init_app(app)
