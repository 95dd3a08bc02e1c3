"""Scheduled: a sale whose balance was not paid by balance_due_by defaults (悔拍)."""
from __future__ import annotations

from sqlalchemy import select

from ..db import Database
from ..timeutil import utcnow
from . import services
from .models import Settlement


def expire_unpaid(db: Database) -> int:
    now = utcnow()
    done = 0
    while True:
        with db.transaction() as s:
            q = (select(Settlement.id)
                 .where(Settlement.status == "awaiting_payment",
                        Settlement.balance_due_by.is_not(None),
                        Settlement.balance_due_by < now)
                 .order_by(Settlement.id).limit(1))
            if not db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            sid = s.scalar(q)
            if sid is None:
                return done
            # A paid offline balance settles in the confirming transaction, so an
            # awaiting sale past its deadline is unpaid; a Stripe payment that
            # succeeded was settled by the reconcile job, which runs first.
            services.mark_defaulted(s, sid, at=now)
            done += 1
