"""A bank's IP-pledge NPL position on a quarter (API.md "Oversight and reports"), its
overall NPL ratios, and the flag raised when it moves outside the tolerance
(银保监发〔2019〕34号: up to 3 percentage points above the overall ratio, an operator setting).

On the quarter's last day (today while it runs): outstanding principal counts the loans
not settled on that day; ip_npl_ratio = principal graded substandard, doubtful or loss ÷
all (4 decimals, half-up); gap_pp = (ip_npl_ratio − overall) × 100 (2 decimals, half-up);
what cannot be computed (no overall ratio, no principal outstanding) is null.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, settings_store
from ..accounts.models import Org, User
from ..db import Database
from ..errors import NotFound
from ..lending.claims import claim_as_of
from ..lending.models import Loan
from ..notifications import notify
from ..timeutil import utcnow
from .grades import grade_on, grades_of, is_npl
from .models import NplToleranceFlag, OverallNplRatio
from .periods import Quarter

ZERO = Decimal("0.00")
RATIO_PLACES = Decimal("0.0001")
PP_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class OutstandingLoan:
    loan: Loan
    principal: Decimal
    grade: str


def bank_ids(session: Session) -> list[int]:
    """Every bank: organisations of kind bank, and any organisation that holds loans."""
    kinds = session.scalars(select(Org.id).where(Org.kind == "bank"))
    lenders = session.scalars(select(Loan.bank_org_id).distinct())
    return sorted(set(kinds) | set(lenders))


def book_on(session: Session, org_id: int, day: dt.date) -> list[OutstandingLoan]:
    """The bank's loans with principal outstanding on `day` and not settled by then, each
    with its grade on that day."""
    loans = list(session.scalars(
        select(Loan).where(Loan.bank_org_id == org_id, Loan.disbursed_on <= day,
                           or_(Loan.settled_on.is_(None), Loan.settled_on > day))
        .order_by(Loan.id)))
    grades = grades_of(session, [ln.id for ln in loans])
    out = []
    for ln in loans:
        principal = claim_as_of(ln, ln.events, day).principal
        if principal > 0:
            out.append(OutstandingLoan(ln, principal,
                                       grade_on(ln, ln.events, grades[ln.id], day).grade))
    return out


def overall_ratio(session: Session, org_id: int, quarter: Quarter) -> Decimal | None:
    return session.scalar(select(OverallNplRatio.ratio).where(
        OverallNplRatio.org_id == org_id, OverallNplRatio.period == str(quarter)))


def position(session: Session, org_id: int, quarter: Quarter, today: dt.date,
             tolerance_pp: Decimal) -> dict:
    book = book_on(session, org_id, quarter.position_date(today))
    total = sum((o.principal for o in book), ZERO)
    npl = sum((o.principal for o in book if is_npl(o.grade)), ZERO)
    ratio = (npl / total).quantize(RATIO_PLACES, ROUND_HALF_UP) if total > 0 else None
    overall = overall_ratio(session, org_id, quarter)
    gap = None
    if ratio is not None and overall is not None:
        gap = ((ratio - overall) * 100).quantize(PP_PLACES, ROUND_HALF_UP)
    return {"org_id": org_id, "ip_loans_principal": total, "ip_npl_principal": npl,
            "ip_npl_ratio": ratio, "overall_npl_ratio": overall, "gap_pp": gap,
            "within_tolerance": None if gap is None else gap <= tolerance_pp}


def positions(session: Session, org_ids: list[int], quarter: Quarter,
              today: dt.date) -> list[dict]:
    tolerance = settings_store.get(session, "npl_tolerance_pp")
    return [position(session, org_id, quarter, today, tolerance) for org_id in org_ids]


def set_overall_ratio(session: Session, org_id: int, quarter: Quarter, ratio: Decimal, *,
                      actor_id: int | None) -> OverallNplRatio:
    """The bank's overall NPL ratio for a quarter (saving it again replaces it)."""
    if session.get(Org, org_id) is None:
        raise NotFound("bank")
    stmt = select(OverallNplRatio).where(OverallNplRatio.org_id == org_id,
                                         OverallNplRatio.period == str(quarter))
    row = session.scalar(stmt.with_for_update())
    before = None if row is None else row.ratio
    if row is None:
        try:
            with session.begin_nested():
                row = OverallNplRatio(org_id=org_id, period=str(quarter), ratio=ratio,
                                      updated_by=actor_id, updated_at=utcnow())
                session.add(row)
        except IntegrityError:  # saved at the same moment by another request: replace it
            row = session.scalar(stmt.with_for_update())
    row.ratio, row.updated_by, row.updated_at = ratio, actor_id, utcnow()
    session.flush()
    audit.record(session, "bank.overall_npl", "org", org_id, actor_id=actor_id,
                 before={"period": str(quarter), "ratio": before},
                 after={"period": str(quarter), "ratio": ratio})
    return row


# --- the tolerance flag ---------------------------------------------------------------

def open_flag(session: Session, org_id: int) -> NplToleranceFlag | None:
    return session.scalar(select(NplToleranceFlag).where(
        NplToleranceFlag.org_id == org_id, NplToleranceFlag.cleared_at.is_(None)))


def _tell(session: Session, org_id: int, quarter: Quarter, pos: dict,
          tolerance_pp: Decimal) -> None:
    """The bank's users and the exchange's operators hear of it, each in their language."""
    users = session.execute(select(User.id, User.locale).where(
        User.active.is_(True),
        or_(User.role == "operator", (User.role == "bank") & (User.org_id == org_id))))
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    for uid, locale in users:
        with force_locale(locale or default):
            subject = _("IP-pledge NPL ratio %(gap)s pp above the overall ratio",
                        gap=pos["gap_pp"])
            body = _("%(period)s: IP-pledge NPL ratio %(ratio)s, overall %(overall)s; "
                     "tolerance %(tolerance)s pp.", period=str(quarter),
                     ratio=pos["ip_npl_ratio"], overall=pos["overall_npl_ratio"],
                     tolerance=tolerance_pp)
        notify(session, uid, "oversight.npl_tolerance", subject, body, "/oversight/npl")


def refresh_flag(session: Session, org_id: int, quarter: Quarter, today: dt.date,
                 tolerance_pp: Decimal) -> int:
    """Raise the bank's flag when it is outside the tolerance, clear it when it is back
    within; 1 when something changed. A position that cannot be computed (a new quarter
    before the bank enters its overall ratio) leaves the flag as it is."""
    pos = position(session, org_id, quarter, today, tolerance_pp)
    outside = pos["within_tolerance"] is False
    within = pos["within_tolerance"] is True
    flag = open_flag(session, org_id)
    if outside and flag is None:
        try:
            with session.begin_nested():
                session.add(NplToleranceFlag(org_id=org_id, period=str(quarter),
                                             gap_pp=pos["gap_pp"], tolerance_pp=tolerance_pp,
                                             raised_at=utcnow()))
        except IntegrityError:  # another scheduler raised it first: it told everyone
            return 0
        audit.record(session, "oversight.npl_flag_raise", "org", org_id,
                     after={"period": str(quarter), "gap_pp": pos["gap_pp"],
                            "tolerance_pp": tolerance_pp})
        _tell(session, org_id, quarter, pos, tolerance_pp)
        return 1
    if within and flag is not None:
        done = session.execute(update(NplToleranceFlag)
                               .where(NplToleranceFlag.id == flag.id,
                                      NplToleranceFlag.cleared_at.is_(None))
                               .values(cleared_at=utcnow())).rowcount
        if done:
            audit.record(session, "oversight.npl_flag_clear", "org", org_id,
                         after={"period": str(quarter), "gap_pp": pos["gap_pp"]})
        return done
    return 0


def run_tolerance_check(db: Database, today: dt.date) -> int:
    """Each bank in its own transaction, on the current quarter."""
    quarter = Quarter.of(today)
    with db.transaction() as s:
        ids = bank_ids(s)
    done = 0
    for org_id in ids:
        with db.transaction() as s:
            done += refresh_flag(s, org_id, quarter, today,
                                 settings_store.get(s, "npl_tolerance_pp"))
    return done
