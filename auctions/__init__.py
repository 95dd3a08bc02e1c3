"""Bidding engine, deposits gate, soft close, rounds, closing, live updates.

Modules: engine (the bid path: one locked row, Core statements), deposits (qualification,
release, forfeiture), rounds (round 1, re-auction, fixed-price stage, re-sale), closing
(scheduler sweeps: open, close, card-hold sync and release), handlers (hooks fired by
listings, settlement and the Stripe webhook), flows (request flows shared by api and web),
views_model (the public shape of an auction), listing_link (what we need from listings),
demo (seeder). Hooks fired here: `auction.closing(session, auction)` before a close.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from market import hooks
    from market.api import register
    from market.scheduler import Job
    from market.scheduler import register as register_jobs
    from market.web import add_nav, add_panel

    from . import closing, dossier, handlers
    from .api import BidShortcut, blp
    from .web import bp, my_bids_panel, live_context

    from market.extensions import csrf

    csrf.exempt(blp)  # bearer-token API: no cookies, no CSRF (the web endpoints keep it)
    register(app, blp)
    app.wsgi_app = BidShortcut(app, app.wsgi_app)  # type: ignore[method-assign]
    app.register_blueprint(bp)
    app.context_processor(live_context)
    add_nav(app, "auctions_web.my_bids", _l("My bids"), roles=("investor",), order=30)
    add_nav(app, "auctions_web.deposit_desk", _l("Deposits desk"), roles=("operator",), order=60)
    add_panel(app, my_bids_panel, roles=("investor",), order=20)

    hooks.register("listing.published", handlers.on_listing_published)
    hooks.register("listing.before_withdraw", handlers.on_before_withdraw)
    hooks.register("listing.closed", handlers.on_listing_closed)
    hooks.register("settlement.settled", handlers.on_settlement_settled)
    hooks.register("settlement.defaulted", handlers.on_settlement_defaulted)
    hooks.register("listing.priority_holder_registered", handlers.on_priority_holder_registered)
    hooks.register("payments.webhook.deposit", handlers.on_stripe_deposit)
    hooks.register("loan.dossier", dossier.loan_dossier)

    register_jobs(app,
                  Job("auctions.open_due", closing.open_due, 1.0),
                  Job("auctions.close_due", lambda db: closing.close_due(db, app), 1.0),
                  Job("auctions.release_stripe_holds",
                      lambda db: closing.release_stripe_holds(db, app), 60.0),
                  Job("auctions.sync_stripe_deposits",
                      lambda db: closing.sync_stripe_deposits(db, app), 10.0),
                  Job("auctions.capture_forfeited_holds",
                      lambda db: closing.capture_forfeited_holds(db, app), 60.0))

    from market.demo import add_seeder

    from .demo import seed

    add_seeder(app, 40, seed)
