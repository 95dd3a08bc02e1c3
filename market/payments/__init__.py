"""payments: payment of a sale's balance (offline and Stripe), deposits (deposits.py: any
sale's, with their Stripe holds), the gateways, the Stripe webhook. init_app registers the
API, the webhook (CSRF-exempt: Stripe signs it), the reconcile job and the deposit sweeps.

Permission checks: roles at the entry points (api.py api_auth, views.py role_required:
operators confirm and cancel); who pays in services.py (only the sale's buyer, through
settlement.services.is_buyer). The webhook is checked by Stripe's signature."""
from flask import Flask


def init_app(app: Flask) -> None:
    from .. import hooks
    from ..api import register
    from ..extensions import csrf
    from ..scheduler import Job, register as register_jobs
    from . import deposits, jobs, views
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
                      lambda db: deposits.capture_forfeited_holds(db, app), 60.0),
                  Job("payments.cancel_dead_holds",
                      lambda db: deposits.cancel_dead_holds(db, app), 60.0))
    views.init_app(app)
