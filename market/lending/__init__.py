"""lending: loans, claims, pledges, risk shares, monitoring flags, the public register and
agreed valuations (agreed.py: the bank takes the IP at an agreed value, 协议折价).

Permission checks: roles at the entry points (api.py api_auth, views.py role_required);
who may see or act on a loan in services.py (can_see_loan, and the Forbidden its
services raise)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from .. import hooks
    from ..api import register
    from ..extensions import csrf
    from . import agreed_api, disposal  # noqa: F401  (agreed_api: routes on blp)
    from .api import blp, register_blp

    for bp in (blp, register_blp):
        csrf.exempt(bp)  # bearer-token API: no cookies, no CSRF
        register(app, bp)
    from . import monitoring

    monitoring.init_app(app)
    hooks.register("settlement.settled", disposal.on_settlement_settled)
    from . import seed, views

    views.init_app(app)
    seed.init_app(app)
