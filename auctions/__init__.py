"""Bidding engine, deposits gate, soft close, rounds, closing, live updates.

Modules: engine (the bid path: one locked row, Core statements), deposits (who may pay
a round's deposit, and the bidder code it earns; the deposit itself is market.payments'),
rounds (round 1, re-auction, fixed-price stage, re-sale), closing (scheduler sweeps:
open, close), handlers (hooks fired by listings, settlement and payments), flows (request
flows shared by api and web), views_model (the public shape of an auction), listing_link
(what we need from listings),
listing_cards (the round figures listings show: its answer to `auction_rounds`),
market_facts (rounds for market data), demo (seeder). Hooks fired here: `auction.closing(session, auction)` before a close.

Permission checks: roles at the entry points (api.py api_auth, web.py role_required);
who may bid in deposits.py (qualification, barred bidders) and engine.py (no bid
without a held deposit).
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from market import hooks
    from market.api import register
    from market.scheduler import Job
    from market.scheduler import register as register_jobs
    from market.web import add_nav, add_panel

    from listings.browse import auction_rounds, live_rounds

    from . import closing, dossier, handlers, listing_cards, market_facts
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
    hooks.register("marketdata.sale_rounds", market_facts.sale_rounds)
    auction_rounds.provide(listing_cards.round_figures)
    live_rounds.provide(listing_cards.live_rounds)
    from listings.modes.transfer import open_auction

    from .transfer_round import open_transfer_auction

    open_auction.provide(open_transfer_auction)
    hooks.register("deposit.confirmed", handlers.on_deposit_confirmed)
    hooks.register("loan.dossier", dossier.loan_dossier)

    register_jobs(app,
                  Job("auctions.open_due", closing.open_due, 1.0),
                  Job("auctions.close_due", lambda db: closing.close_due(db, app), 1.0))

    from market.demo import add_seeder

    from . import demo_history
    from .demo import seed

    add_seeder(app, 40, seed)
    demo_history.init_app(app)
