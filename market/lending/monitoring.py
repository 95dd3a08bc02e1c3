"""Loan monitoring: flags (not statuses) a bank must see before a loss happens.

- overdue:            a performing loan past maturity with a claim outstanding;
- ltv:                claim ÷ value of the pledged assets above the bank's threshold
                      (民法典 433: the bank may demand more security);
- asset_not_in_force: a pledged asset lapsed, invalid or expired;
- annuity_due:        a pledged asset's annuity/renewal falls due within the warning window;
- valuation_expired:  a pledged asset has no valuation valid today (动态评估).
- disposal_deadline:  the bank took the IP at an agreed value (agreed.py) and must dispose
                      of it within 90 days (or is late); kept until disposed, though the
                      loan is settled.

A flag is raised once and cleared when it no longer holds. The job looks at each loan
with a registered pledge in its own transaction, claiming the loan row (SKIP LOCKED on
PostgreSQL) so several schedulers never work on one loan at once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, settings_store
from ..accounts.models import User
from ..assets.models import Asset
from ..assets.services import valuation_on
from ..db import Database
from ..notifications import notify
from ..scheduler import Job
from ..timeutil import business_date, utcnow
from . import agreed
from .claims import claim_as_of
from .models import BankProfile, Loan, LoanFlag, Pledge
from .services import events_of


@dataclass(frozen=True)
class Finding:
    kind: str
    asset_id: int | None
    detail: str


def ltv_threshold(session: Session, bank_org_id: int) -> Decimal:
    profile = session.get(BankProfile, bank_org_id)
    if profile is not None and profile.ltv_threshold is not None:
        return profile.ltv_threshold
    return settings_store.get(session, "ltv_threshold")


def collateral_value(session: Session, loan: Loan, today: dt.date) -> tuple[Decimal, list]:
    """Σ of the pledged assets' values today (latest valid valuation each), and the assets."""
    assets = [session.get(Asset, i.asset_id) for i in loan.pledge.items if i.active] \
        if loan.pledge else []
    total = Decimal("0.00")
    for a in assets:
        v = valuation_on(session, a.id, today)
        if v is not None:
            total += v.amount
    return total, assets


def findings(session: Session, loan: Loan, today: dt.date) -> list[Finding]:
    """What is wrong with this loan today."""
    out: list[Finding] = []
    av = agreed.of_loan(session, loan.id)
    if agreed.deadline_near(av, today):
        out.append(Finding("disposal_deadline", None,
                           f"agreed valuation: dispose of the assets by "
                           f"{av.dispose_by.isoformat()}"))
    if loan.status == "settled" or loan.pledge is None or loan.pledge.status != "registered":
        return out
    claim = claim_as_of(loan, events_of(session, loan.id), today)
    if loan.status == "performing" and today > loan.maturity_on and claim.total > 0:
        out.append(Finding("overdue", None,
                           f"matured {loan.maturity_on.isoformat()}; claim {claim.total:.2f}"))
    value, assets = collateral_value(session, loan, today)
    threshold = ltv_threshold(session, loan.bank_org_id)
    if value > 0 and claim.total / value > threshold:
        ratio = (claim.total / value).quantize(Decimal("0.0001"))
        out.append(Finding("ltv", None,
                           f"LTV {ratio} above {threshold} (claim {claim.total:.2f}, "
                           f"value {value:.2f})"))
    warn_days = settings_store.get(session, "annuity_warning_days")
    for a in assets:
        if not a.in_force(today):
            out.append(Finding("asset_not_in_force", a.id,
                               f"{a.registry_no}: {a.legal_status}, expires "
                               f"{a.expires_on.isoformat() if a.expires_on else '-'}"))
        if a.next_fee_due_on is not None and a.next_fee_due_on <= today + dt.timedelta(
                days=warn_days):
            out.append(Finding("annuity_due", a.id,
                               f"{a.registry_no}: fee due {a.next_fee_due_on.isoformat()}"))
        if valuation_on(session, a.id, today) is None:
            out.append(Finding("valuation_expired", a.id,
                               f"{a.registry_no}: no valuation valid on {today.isoformat()}"))
    return out


def refresh_flags(session: Session, loan: Loan, today: dt.date) -> int:
    """Raise new flags, clear those that no longer hold; returns how many changed."""
    now = utcnow()
    av = agreed.of_loan(session, loan.id)
    if av is not None:
        agreed.refresh_status(session, av, today)
    current = {(f.kind, f.asset_id): f for f in findings(session, loan, today)}
    open_ = {(f.kind, f.asset_id): f for f in session.scalars(
        select(LoanFlag).where(LoanFlag.loan_id == loan.id, LoanFlag.cleared_at.is_(None)))}
    changed = 0
    for key, flag in open_.items():
        if key not in current:
            flag.cleared_at = now
            audit.record(session, "loan.flag_clear", "loan", loan.id,
                         after={"kind": flag.kind, "asset_id": flag.asset_id})
            changed += 1
    new = [f for key, f in current.items() if key not in open_]
    for f in new:
        session.add(LoanFlag(loan_id=loan.id, kind=f.kind, asset_id=f.asset_id,
                             detail=f.detail, raised_at=now))
        audit.record(session, "loan.flag_raise", "loan", loan.id,
                     after={"kind": f.kind, "asset_id": f.asset_id, "detail": f.detail})
        changed += 1
    if new:
        for uid in session.scalars(select(User.id).where(User.org_id == loan.bank_org_id,
                                                         User.role == "bank",
                                                         User.active.is_(True))):
            notify(session, uid, "loan.flag", f"Loan #{loan.id}: "
                   + ", ".join(f.kind for f in new), "\n".join(f.detail for f in new),
                   f"/loans/{loan.id}")
    return changed


def loans_to_watch(session: Session) -> list[int]:
    """Loans whose flags may be open or due: registered pledges, open flags, or IP taken
    at an agreed value and not yet disposed of."""
    with_pledge = select(Pledge.loan_id).where(Pledge.status == "registered")
    with_flags = select(LoanFlag.loan_id).where(LoanFlag.cleared_at.is_(None))
    return sorted(set(session.scalars(with_pledge)) | set(session.scalars(with_flags))
                  | set(agreed.undisposed_loan_ids(session)))


def run_monitoring(db: Database, tz_name: str, today: dt.date | None = None) -> int:
    today = today or business_date(utcnow(), tz_name)
    with db.transaction() as s:
        ids = loans_to_watch(s)
    done = 0
    for loan_id in ids:
        with db.transaction() as s:
            stmt = select(Loan).where(Loan.id == loan_id)
            if not db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            loan = s.scalar(stmt)
            if loan is None:  # another scheduler holds it: its to finish
                continue
            done += refresh_flags(s, loan, today)
    return done


def init_app(app: Flask) -> None:
    from .. import scheduler

    tz = app.config["MARKET_TIMEZONE"]
    scheduler.register(app, Job("lending.monitor", lambda db: run_monitoring(db, tz), 600))

