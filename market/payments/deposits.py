"""Deposits: money a would-be buyer puts up to take part in a sale, whatever the sale is
(an auction's round, a transfer's registration). Source: 法释〔2016〕18号 — paid before
taking part; losers' deposits are released (within 24 h); the buyer's counts toward the
price; a defaulting buyer's is forfeited.

The deposit's owner says who may pay and what paying admits one to: when the money is in
(`confirm`), the hook `deposit.confirmed(deposit, actor_id, now)` lets the owner hold it
and admit the payer (auctions: a bidder code); a deposit no owner takes is held here.
Every status change goes through market.lifecycle; every movement of money is a ledger
entry. Stripe: a card hold is requested outside any transaction; sweeps pick up late
authorisations, cancel released holds and capture forfeited ones.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, hooks, lifecycle, settings_store
from ..db import Database
from ..inputs import parse_id
from ..errors import Conflict, DomainError, Invalid, NotFound
from ..notifications import notify
from ..settlement import ledger
from ..timeutil import utcnow
from . import refunds
from .gateway import gateway_for
from .models import Deposit

log = logging.getLogger("payments.deposits")

LIVE = ("pending", "held")
METHODS = ("offline", "stripe")


def check_method(method: str, config) -> None:
    if method not in METHODS:
        raise Invalid("invalid_method", "method must be offline or stripe")
    if method == "stripe" and not config.get("STRIPE_SECRET_KEY"):
        raise Invalid("method_unavailable", "card payments (Stripe) are not configured")


def _owner(dep: Deposit) -> str:
    if dep.auction_id is not None:
        return f"auction {dep.auction_id}"
    return f"listing {dep.listing_id}"


def start(session: Session, *, listing_id: int, auction_id: int | None, user, amount: Decimal,
          currency: str, method: str) -> Deposit:
    """A pending deposit for the sale (one live deposit per payer and sale: 409
    deposit_exists). Offline: an operator confirms it against the bank statement by its
    reference. Stripe: the caller commits, then asks for the card hold (`hold_by_card`)."""
    existing = session.scalar(select(Deposit.id).where(
        Deposit.listing_id == listing_id, Deposit.auction_id.is_(None) if auction_id is None
        else Deposit.auction_id == auction_id,
        Deposit.user_id == user.id, Deposit.status.in_(LIVE)))
    if existing is not None:
        raise Conflict("deposit_exists", "you already have a deposit for this sale")
    owner = auction_id if auction_id is not None else f"L{listing_id}"
    dep = Deposit(listing_id=listing_id, auction_id=auction_id, user_id=user.id,
                  org_id=user.org_id, amount=amount, currency=currency, method=method,
                  status="pending", reference="DEP" + secrets.token_hex(5).upper(),
                  idempotency_key=f"deposit-{owner}-{user.id}-{uuid.uuid4().hex}",
                  created_at=utcnow())
    session.add(dep)
    session.flush()
    audit.record(session, "deposit.created", "deposit", dep.id, actor_id=user.id,
                 after={"listing_id": listing_id, "auction_id": auction_id, "amount": amount,
                        "method": method, "reference": dep.reference})
    return dep


def hold(session: Session, dep: Deposit, *, actor_id: int | None,
         now: dt.datetime | None = None, detail: dict | None = None) -> None:
    """pending → held, and the money into the ledger. `detail` goes into the audit record
    (auctions: the bidder code the deposit earned)."""
    if dep.status != "pending":
        raise Conflict("deposit_not_pending", f"the deposit is {dep.status}")
    lifecycle.move(session, dep, "held", actor_id=actor_id,
                   after={"status": "held", **(detail or {})},
                   held_at=now or utcnow(), confirmed_by=actor_id)
    ledger.record_deposit_held(session, dep.id, dep.amount, dep.org_id)


def confirm(session: Session, dep: Deposit, *, actor_id: int | None,
            now: dt.datetime | None = None) -> Deposit:
    """The money is in (an operator matched the transfer, or Stripe authorised the hold):
    the owner holds it and admits the payer (hook deposit.confirmed), else it is held here."""
    if dep.status != "pending":
        raise Conflict("deposit_not_pending", f"the deposit is {dep.status}")
    now = now or utcnow()
    hooks.fire("deposit.confirmed", session, dep, actor_id, now)
    if dep.status == "pending":
        hold(session, dep, actor_id=actor_id, now=now)
    return dep


def confirm_offline(session: Session, deposit_id: int, actor_id: int) -> Deposit:
    dep = session.get(Deposit, deposit_id, with_for_update=True)
    if dep is None:
        raise NotFound("deposit")
    if dep.method != "offline":
        raise Conflict("not_offline", "only offline deposits are confirmed by an operator")
    return confirm(session, dep, actor_id=actor_id)


def release(session: Session, dep: Deposit, now: dt.datetime, reason: str,
            link: str | None = None) -> None:
    """A loser's deposit (or any of a sale that did not happen). A pending one is
    cancelled. Offline money goes back by bank transfer now (released); a card hold is
    cancelled by the release sweep, outside any transaction (releasing until then)."""
    if dep.status == "pending":
        # A card intent may still be confirmed by the buyer: the cancel sweep cancels it at
        # Stripe before the deposit is cancelled (no hold left on anyone's card).
        card = dep.method == "stripe" and dep.provider_ref is not None
        lifecycle.move(session, dep, "cancelling" if card else "cancelled", reason=reason)
        return
    if dep.status != "held":
        return
    hours = settings_store.get(session, "deposit_release_hours")
    offline = dep.method == "offline"
    lifecycle.move(session, dep, "released" if offline else "releasing", reason=reason,
                   action="deposit.released", release_due_at=now + dt.timedelta(hours=hours),
                   **({"released_at": now} if offline else {}))
    if offline:
        # The bank transfer back is an operator's job: queued, due within the release hours.
        refunds.request_refund(session, dep.org_id, dep.amount, f"deposit released ({reason})",
                               f"deposit:{dep.id}", currency=dep.currency,
                               due_at=now + dt.timedelta(hours=hours))
    ledger.record_deposit_released(session, dep.id, dep.amount, dep.org_id)
    notify(session, dep.user_id, "deposit.released",
           f"保证金已退还 / Deposit released (#{dep.auction_id or dep.listing_id})",
           f"{dep.amount} {dep.currency}", link=link)


def apply_to_price(session: Session, dep: Deposit, now: dt.datetime) -> None:
    """The buyer paid: its held deposit was counted toward the price (settlement's entry
    carries the money), so the deposit is applied."""
    if dep.status == "held":
        lifecycle.move(session, dep, "applied", applied_at=now)


def forfeit(session: Session, dep: Deposit, now: dt.datetime) -> None:
    """悔拍: the defaulting buyer's deposit is forfeited (settlement applies it to the
    re-sale's costs, then any fall in price, then the debt)."""
    if dep.status not in ("held", "applied"):
        return
    lifecycle.move(session, dep, "forfeited", forfeited_at=now)
    ledger.record_deposit_forfeited(session, dep.id, dep.amount, dep.org_id)


def deposit_dict(dep: Deposit, client_secret: str | None = None) -> dict:
    out = {"id": dep.id, "auction_id": dep.auction_id, "status": dep.status,
           "amount": f"{dep.amount:.2f}", "currency": dep.currency, "method": dep.method,
           "reference": dep.reference}
    if client_secret:
        out["client_secret"] = client_secret
    return out


# --- Stripe ---------------------------------------------------------------------------

def hold_by_card(s: Session, config, dep: Deposit) -> dict:
    """Ask Stripe for the card hold of a pending deposit the caller has committed (no
    transaction is open across the network call), then record the answer and commit."""
    dep_id = dep.id
    gw = gateway_for("stripe", config)
    meta = {"kind": "deposit", "deposit_id": str(dep_id), "listing_id": str(dep.listing_id)}
    if dep.auction_id is not None:
        meta["auction_id"] = str(dep.auction_id)
    try:
        res = gw.hold(amount=dep.amount, currency=dep.currency.lower(),
                      idempotency_key=dep.idempotency_key,
                      description=f"Deposit for {_owner(dep)}", metadata=meta)
    except Exception as exc:  # the row stays pending; nothing was charged
        failed = s.get(Deposit, dep_id, with_for_update=True)
        lifecycle.move(s, failed, "cancelled", reason="gateway error",
                       note=f"gateway error: {exc}"[:500])
        s.commit()
        raise DomainError("gateway_error", "the card payment service did not answer", 422) from exc
    dep = s.get(Deposit, dep_id, with_for_update=True)
    dep.provider_ref = res.provider_ref
    if res.status == "held" and dep.status == "pending":
        confirm(s, dep, actor_id=None)
    out = deposit_dict(dep, res.client_secret)
    s.commit()
    return out


def on_stripe_event(session: Session, event_type: str, obj: dict) -> str | None:
    """A deposit's PaymentIntent (webhook kind "deposit"): authorised → confirmed;
    cancelled → cancelled."""
    meta = obj.get("metadata") or {}
    dep = None
    if parse_id(meta.get("deposit_id")):
        dep = session.get(Deposit, parse_id(meta.get("deposit_id")), with_for_update=True)
    if dep is None and obj.get("id"):
        dep = session.scalar(select(Deposit).where(Deposit.provider_ref == obj["id"]))
    if dep is None:
        return None
    status = obj.get("status")
    # The webhook hands over the object as Stripe holds it now (re-read), so its status,
    # not the event's type, says whether the hold is authorised (events come out of order).
    if dep.status == "pending" and status in ("requires_capture", "succeeded"):
        confirm(session, dep, actor_id=None)
        return "held"
    if dep.status in ("pending", "cancelling") and status == "canceled":
        lifecycle.move(session, dep, "cancelled", reason="card intent canceled")
        return "cancelled"
    return None


def _sweep(db: Database, app, what: str, query, call, record) -> int:
    """The shape of every Stripe deposit sweep: collect up to 50 deposits in one short
    transaction, call Stripe for each outside any transaction (no network call may hold a
    row lock), then record each result in its own transaction with the row locked.

    `call(gateway, deposit_id, provider_ref)` returns the gateway's answer (an exception
    leaves the deposit to the next sweep); `record(session, deposit, provider_ref, answer)`
    returns True when it changed the row."""
    with db.transaction() as s:
        todo = [(d.id, d.provider_ref) for d in s.scalars(query.limit(50))]
    if not todo:
        return 0
    gw = gateway_for("stripe", (app or current_app).config)
    done = 0
    for dep_id, ref in todo:
        try:
            answer = call(gw, dep_id, ref)
        except Exception:  # noqa: BLE001 - retried on the next sweep
            log.exception("stripe %s of deposit %s failed", what, dep_id)
            continue
        with db.transaction() as s:
            d = s.get(Deposit, dep_id, with_for_update=True)
            if d is not None and record(s, d, ref, answer):
                done += 1
    return done


def _stripe_configured(app) -> bool:
    return bool((app or current_app).config.get("STRIPE_SECRET_KEY"))


def release_stripe_holds(db: Database, app=None) -> int:
    """Cancel the card holds of releasing deposits (24-hour rule), outside transactions;
    each becomes released. The gateway call is idempotent by key, so two schedulers
    racing do no harm."""
    def call(gw, dep_id, ref):
        if ref:
            gw.cancel(ref, idempotency_key=f"deposit-release-{dep_id}")

    def record(s, d, ref, answer):
        return d.status == "releasing" and lifecycle.try_move(
            s, d, "released", reason="card hold cancelled", released_at=utcnow())

    return _sweep(db, app, "release",
                  select(Deposit).where(Deposit.status == "releasing",
                                        Deposit.method == "stripe"), call, record)


def sync_stripe_deposits(db: Database, app=None) -> int:
    """Pending card deposits whose hold was authorised in the browser (a webhook may be
    late or lost): re-read them from Stripe, outside transactions, and confirm them."""
    if not _stripe_configured(app):
        return 0

    def record(s, d, ref, res):
        if res.status != "held" or d.status != "pending":
            return False
        confirm(s, d, actor_id=None)
        return True

    return _sweep(db, app, "retrieve",
                  select(Deposit).where(Deposit.status == "pending", Deposit.method == "stripe",
                                        Deposit.provider_ref.is_not(None)),
                  lambda gw, dep_id, ref: gw.retrieve(ref), record)


def capture_forfeited_holds(db: Database, app=None) -> int:
    """A defaulting buyer's card deposit is forfeited (悔拍): take the held money, outside
    transactions, then move it to captured so the sweep does it once."""
    if not _stripe_configured(app):
        return 0

    def record(s, d, ref, res):
        if res.status != "paid" or d.status != "forfeited":
            return False
        return lifecycle.try_move(s, d, "captured", actor_id=None,
                                  after={"status": "captured", "provider_ref": ref})

    return _sweep(db, app, "capture",
                  select(Deposit).where(Deposit.status == "forfeited", Deposit.method == "stripe",
                                        Deposit.provider_ref.is_not(None)),
                  lambda gw, dep_id, ref: gw.capture(ref, amount=None,
                                                     idempotency_key=f"deposit-forfeit-{dep_id}"),
                  record)


def cancel_dead_holds(db: Database, app=None) -> int:
    """Card deposits whose sale ended while they were pending (cancelling): cancel the
    intent at Stripe, outside any transaction, then the deposit. An intent the buyer
    confirmed after the close would otherwise stay `requires_capture` on the card."""
    def call(gw, dep_id, ref):
        if gw.retrieve(ref).status == "released":
            return "already"
        gw.cancel(ref, idempotency_key=f"deposit-cancel-{dep_id}")
        return "cancelled"

    def record(s, d, ref, answer):
        return d.status == "cancelling" and lifecycle.try_move(
            s, d, "cancelled", reason=f"card intent {answer}", action="deposit.hold_cancelled")

    if not _stripe_configured(app):
        return 0
    return _sweep(db, app, "cancel",
                  select(Deposit).where(Deposit.status == "cancelling",
                                        Deposit.method == "stripe"), call, record)
