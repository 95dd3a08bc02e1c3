"""Scheduled: settle Stripe balance payments whose webhook was lost."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from ..db import Database
from ..errors import DomainError
from ..timeutil import utcnow
from . import services
from .gateway import gateway_for
from .models import Payment


def reconcile_stripe(db: Database) -> int:
    """Re-read every pending Stripe balance intent; apply those that succeeded or were
    cancelled. One transaction per payment; the Stripe call happens outside it."""
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return 0
    with db.transaction() as s:
        todo = list(s.execute(select(Payment.id, Payment.provider_ref).where(
            Payment.method == "stripe", Payment.status == "pending",
            Payment.provider_ref.is_not(None)).order_by(Payment.id)))
        # Claimed long ago but never recorded: the creating call crashed mid-way.
        lost = list(s.execute(select(Payment.id, Payment.idempotency_key).where(
            Payment.method == "stripe", Payment.status == "pending",
            Payment.provider_ref.is_(None),
            Payment.provider_call_at < utcnow() - dt.timedelta(minutes=2))))
    if not todo and not lost:
        return 0
    gateway = gateway_for("stripe", current_app.config)
    done = 0
    for pid, key in lost:
        try:
            found = gateway.find_by_idempotency_key(key)
        except DomainError:
            continue
        if found is None:
            continue  # never reached Stripe: the buyer's next request creates it
        with db.transaction() as s:
            services.record_intent(s, pid, found)
        todo.append((pid, found.provider_ref))
        done += 1
    for pid, ref in todo:
        try:
            state = gateway.retrieve_object(ref)["status"]
        except DomainError:
            continue  # Stripe unreachable: the next sweep tries again
        if state not in ("succeeded", "canceled"):
            continue
        with db.transaction() as s:
            q = select(Payment).where(Payment.id == pid, Payment.status == "pending")
            if not db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            p = s.scalar(q)
            if p is None:
                continue  # another scheduler (or the webhook) got there first
            services.apply_stripe_state(s, p, state)
            done += 1
    return done
