"""marketdata: comparables, the price index and the start-price guide, read from settled
sales (reads settlements; a listing's mode and assets and a sale's round come through the
providers in sources.py). Permission checks: the API's decorators, and the assets
package's own valuation rule for the price guide."""
from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register
    from . import views
    from .api import blp

    register(app, blp)
    views.init_app(app)
