"""payments: payment of a sale's balance (offline and Stripe), the gateways, the Stripe
webhook. init_app registers the API, the webhook (CSRF-exempt: Stripe signs it) and
the reconcile job."""
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
