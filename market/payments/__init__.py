"""payments: payment of a sale's balance (offline and Stripe), deposits (deposits.py: any
sale's, with their Stripe holds), the gateways, the Stripe webhook. init_app registers the
API, the webhook (CSRF-exempt: Stripe signs it), the reconcile job and the deposit sweeps."""
from flask import Flask


def init_app(app: Flask) -> None:
    from .. import hooks
    from ..api import register
    from ..extensions import csrf
    from ..scheduler import Job, register as register_jobs
    from . import deposits, jobs
    from .api import blp
    from .webhooks import bp as webhook_bp

    register(app, blp)
    hooks.register("payments.webhook.deposit", deposits.on_stripe_event)
    csrf.exempt(webhook_bp)
    app.register_blueprint(webhook_bp)
    register_jobs(app, Job("payments.reconcile_stripe", jobs.reconcile_stripe, 60),
                  Job("payments.release_deposit_holds",
                      lambda db: deposits.release_stripe_holds(db, app), 60.0),
                  Job("payments.sync_stripe_deposits",
                      lambda db: deposits.sync_stripe_deposits(db, app), 10.0),
                  Job("payments.capture_forfeited_deposits",
                      lambda db: deposits.capture_forfeited_holds(db, app), 60.0))
    try:
        from . import views
    except ImportError:  # pragma: no cover - web pages not built yet
        return
    views.init_app(app)
