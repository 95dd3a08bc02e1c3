"""Royalties of a licence (API.md "Licensing"): the licensee reports net sales for a
period within the term and owes `net_sales × royalty_rate` (half-up, cents); at the end
of each licence year the scheduler bills, once, any shortfall of that year's royalties
against the minimum annual royalty. Each is paid like the upfront fee (a Payment of
purpose "royalty") and, once paid, distributed the same way: commission, the loan's
claim as a recovery, the owner (licensing.distribute)."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market import audit, settings_store
from market.accounts.models import User
from market.errors import Conflict, Forbidden, Invalid
from market.money import ZERO
from market.payments import services as payments
from market.payments.models import Payment
from market.timeutil import utcnow

from .. import rules
from . import licence_statement, licensing, royalty_reminders
from .licensing_models import Licence, RoyaltyReport

PURPOSE = "royalty"


def royalty_of(net_sales: Decimal, rate: Decimal) -> Decimal:
    return (Decimal(net_sales) * Decimal(rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _bill(session: Session, licence: Licence, report: RoyaltyReport, user_id: int,
          method: str) -> Payment | None:
    if report.royalty <= 0:
        return None
    payer = session.get(User, user_id)
    p = payments.start_payable_payment(
        session, listing_id=licence.listing_id, purpose=PURPOSE, payable_id=report.id,
        amount=report.royalty, currency=licence.currency, user=payer, method=method,
        due_by=utcnow() + dt.timedelta(
            days=settings_store.get(session, "licence_payment_days")))
    report.payment_id = p.id
    return p


def report(session: Session, user: User, licence: Licence, *, period_start: dt.date,
           period_end: dt.date, net_sales: Decimal, method: str) -> tuple[RoyaltyReport,
                                                                           Payment | None]:
    if user.org_id != licence.licensee_org_id:
        raise Forbidden("not_licensee", "only the licensee reports its sales")
    if licence.status != "active":
        raise Conflict("licence_not_active", f"the licence is {licence.status}")
    # In force on [starts_on, ends_on): the last day of a period is before ends_on.
    if not (licence.starts_on <= period_start <= period_end < licence.ends_on):
        raise Invalid("period_invalid", "the period must lie within the licence term")
    overlap = session.scalar(select(RoyaltyReport.id).where(
        RoyaltyReport.licence_id == licence.id, RoyaltyReport.kind == "report",
        RoyaltyReport.period_start <= period_end, RoyaltyReport.period_end >= period_start))
    if overlap is not None:
        raise Invalid("period_invalid", f"the period overlaps report {overlap}")
    rep = RoyaltyReport(licence_id=licence.id, kind="report", period_start=period_start,
                        period_end=period_end, net_sales=net_sales,
                        royalty=royalty_of(net_sales, licence.royalty_rate),
                        created_by=user.id, created_at=utcnow())
    session.add(rep)
    session.flush()
    p = _bill(session, licence, rep, user.id, method)
    audit.record(session, "licence.royalty_report", "licence", licence.id, actor_id=user.id,
                 after={"report_id": rep.id, "period_start": period_start,
                        "period_end": period_end, "net_sales": net_sales,
                        "royalty": rep.royalty})
    return rep, p


def on_payment_paid(session: Session, payment: Payment, paid_at: dt.datetime,
                    actor_id: int | None) -> None:
    """Hook payment.paid: a royalty is distributed like the upfront fee, once."""
    if payment.purpose != PURPOSE:
        return
    rep = session.get(RoyaltyReport, payment.payable_id)
    licence = session.scalar(select(Licence).where(Licence.id == rep.licence_id)
                             .with_for_update())
    licensing.distribute(session, licence, payment, rules.market_date(paid_at),
                         actor_id)


def licence_years_due(licence: Licence, today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The licence years [start, end) that have ended by `today` (anniversaries of
    starts_on, the last one cut at ends_on)."""
    return [(start, end) for start, end in licence_statement.year_bounds(licence)
            if end <= today]


def bill_minimums(db) -> int:
    """Scheduled: bill each ended licence year's shortfall against the minimum, once."""
    today = licensing.today()
    with db.transaction() as s:
        ids = list(s.scalars(select(Licence.id).where(
            Licence.status.in_(("active", "expired")), Licence.minimum_annual_royalty > 0)))
    done = 0
    for lid in ids:
        with db.transaction() as s:
            licence = s.get(Licence, lid)
            billed = set(s.scalars(select(RoyaltyReport.period_start).where(
                RoyaltyReport.licence_id == lid, RoyaltyReport.kind == "minimum")))
            for start, end in licence_years_due(licence, today):
                if start in billed:
                    continue
                owed = sum(s.scalars(select(RoyaltyReport.royalty).where(
                    RoyaltyReport.licence_id == lid, RoyaltyReport.kind == "report",
                    RoyaltyReport.period_start >= start, RoyaltyReport.period_start < end)),
                    ZERO)
                shortfall = max(licence.minimum_annual_royalty - owed, ZERO)
                rep = RoyaltyReport(licence_id=lid, kind="minimum", period_start=start,
                                    period_end=end - dt.timedelta(days=1), net_sales=None,
                                    royalty=shortfall, created_at=utcnow())
                try:
                    with s.begin_nested():  # another scheduler billed it first: once only
                        s.add(rep)
                        s.flush()
                except IntegrityError:
                    continue
                p = _bill(s, licence, rep, licence.applicant_user_id, "offline")
                if p is not None:
                    royalty_reminders.notify_minimum_billed(s, licence, rep, p)
                audit.record(s, "licence.minimum_royalty_billed", "licence", lid,
                             after={"year_start": start, "royalties": owed,
                                    "shortfall": shortfall})
                done += 1
    return done


def report_dict(rep: RoyaltyReport, p: Payment | None) -> dict:
    return {"id": rep.id, "licence_id": rep.licence_id, "kind": rep.kind,
            "period_start": rep.period_start, "period_end": rep.period_end,
            "net_sales": rep.net_sales, "royalty": rep.royalty,
            "payment": None if p is None else {"id": p.id, "amount": p.amount,
                                                "status": p.status, "reference": p.reference}}
