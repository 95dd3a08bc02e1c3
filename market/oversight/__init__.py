"""oversight: loan grades (五级分类), the NPL position against the tolerance of
银保监发〔2019〕34号, banks' overall NPL ratios, and the kept quarterly IP-pledge reports.

Permission checks live in access.py (including the guard that refuses a regulator's
web form posts). init_app registers the API, the web pages and the
dashboard panel, and two scheduler jobs: the tolerance flag and the quarter-end reports.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register
    from ..scheduler import Job, register as register_jobs
    from ..timeutil import business_date, utcnow
    from . import access, npl, reports, seed, views
    from .api import blp
    from . import risk_share_api, risk_shares
    from ..hooks import register as register_hook

    tz = app.config["MARKET_TIMEZONE"]

    def today():
        return business_date(utcnow(), tz)

    register(app, blp)
    register(app, risk_share_api.blp)
    register_hook("settlement.settled", risk_shares.on_settlement_settled)
    register_hook("ledger.verify", risk_shares.verify)
    app.before_request(access.refuse_regulator_writes)
    register_jobs(
        app,
        Job("oversight.npl_tolerance", lambda db: npl.run_tolerance_check(db, today()), 3600),
        Job("oversight.quarter_reports", lambda db: reports.run_quarter_close(db, today()),
            3600))
    views.init_app(app)
    from . import risk_share_seed, risk_share_views
    risk_share_views.init_app(app)
    risk_share_seed.init_app(app)
    seed.init_app(app)
