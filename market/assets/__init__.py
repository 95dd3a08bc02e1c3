"""assets: IP assets, co-owners and valuations (models, services, API, web pages).

Permission checks: at the entry points — api.py (api_auth roles, then _may_change for
the asset's owner organisation) and views.py (role_required, then _may_edit)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register
    from ..extensions import csrf
    from .api import blp

    csrf.exempt(blp)  # bearer-token API: no cookies, no CSRF
    register(app, blp)
    from . import views

    views.init_app(app)
