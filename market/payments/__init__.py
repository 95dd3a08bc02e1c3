"""payments: payment of a sale's balance (offline and Stripe), the gateways, the Stripe
webhook. init_app registers the API, the webhook (CSRF-exempt: Stripe signs it) and
the reconcile job.

Permission checks: roles at the entry points (api.py api_auth, views.py role_required:
operators confirm and cancel); who pays in services.py (only the sale's buyer, through
settlement.services.is_buyer). The webhook is checked by Stripe's signature."""
from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register
    from ..extensions import csrf
    from ..scheduler import Job, register as register_jobs
    from . import jobs, views
    from .api import blp
    from .webhooks import bp as webhook_bp

    register(app, blp)
    csrf.exempt(webhook_bp)
    app.register_blueprint(webhook_bp)
    register_jobs(app, Job("payments.reconcile_stripe", jobs.reconcile_stripe, 60))
    views.init_app(app)
