"""assets: IP assets, co-owners and valuations (models, services, API, web pages).

Who may see or change an asset is decided in access.py only; the API and the pages ask it.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register
    from ..extensions import csrf
    from .api import blp

    csrf.exempt(blp)  # bearer-token API: no cookies, no CSRF
    register(app, blp)
    from . import views

    views.init_app(app)
