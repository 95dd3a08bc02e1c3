"""Named hooks so a lower package can announce an event that a higher one handles
(e.g. listings announce `listing.published`; auctions create the first round).
Handlers run inside the caller's transaction, in registration order, and may raise
DomainError to refuse (e.g. `listing.before_withdraw` when bids exist).

Register in a package's init_app; registering the same function twice is a no-op,
so create_app may run many times (tests).

Known hooks (args after the session):
- listing.published(listing, now)           auctions: create/open round 1
- listing.before_withdraw(listing)          auctions: refuse when bids exist (409 listing_has_bids)
- listing.closed(listing, reason)           auctions: cancel open/scheduled rounds (withdraw/unpublish)
- listing.priority_holder_registered(listing, holder)  auctions: rank a bidder already qualified
- settlement.settled(settlement)            auctions/listings: listing → settled
- settlement.defaulted(settlement)          auctions: forfeit deposit, bar defaulter, new round
- asset.public_ids()                        listings: a query of the asset ids public pages show
- payment.paid(payment, paid_at, actor_id)  a payment not tied to a settlement was paid
                                            (listings: a licence fee → licence active)
- ledger.verify() (also)                    listings: licence fees match their entries
- payments.webhook.<kind>(event_type, obj)  a Stripe object whose metadata.kind is <kind>
- marketdata.listing_facts(listing_ids)   listings: {id: {mode, asset_ids}} (marketdata/sources.py)
- marketdata.sale_rounds(sale_refs)       auctions: {sale_ref: round}
- deposit.confirmed(deposit, actor_id, now)  the deposit's owner holds it and admits the
                                            payer (auctions: a bidder code)
- loan.dossier(loan) → {events, audit_objects, ledger_refs}  listings/auctions: their part
                                            of a loan's due-diligence dossier (oversight)
- ledger.verify() → [problem, …]            oversight: risk-share payments match their entries
"""
from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Callable, Iterator

_handlers: dict[str, list[Callable]] = defaultdict(list)


def register(name: str, func: Callable) -> None:
    if func not in _handlers[name]:
        _handlers[name].append(func)


@contextlib.contextmanager
def registered(name: str, func: Callable) -> Iterator[Callable]:
    """`func` is a handler for the length of a with-block (tests, one-off listeners)."""
    added = func not in _handlers[name]
    register(name, func)
    try:
        yield func
    finally:
        if added:
            _handlers[name].remove(func)


def fire(name: str, session, *args, **kwargs) -> list:
    return [h(session, *args, **kwargs) for h in list(_handlers[name])]


def handlers(name: str) -> list[Callable]:
    return list(_handlers[name])
