"""Loan grades (五级分类): what the bank recorded, the floor its arrears set (金融资产风险分类办法,
2023: principal or interest overdue more than 90 days → at least substandard, 270 →
doubtful, 360 → loss), and a declared default (at least substandard from declared_on).
A loan's grade on a date is the worst of the three."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..errors import Invalid
from ..lending.claims import LoanTerms, MoneyEvent, claim_as_of, penalty_from
from ..lending.models import Loan
from ..timeutil import utcnow
from .models import GRADES, NPL_GRADES, LoanGrade

SEVERITY = {g: i for i, g in enumerate(GRADES)}
# More than this many days overdue → at least this grade (worst first).
ARREARS_FLOORS = ((360, "loss"), (270, "doubtful"), (90, "substandard"))


def worst(*grades: str) -> str:
    return max(grades, key=SEVERITY.__getitem__)


def is_npl(grade: str) -> bool:
    return grade in NPL_GRADES


def days_overdue(loan: LoanTerms, events: Iterable[MoneyEvent], day: dt.date) -> int:
    """How long the oldest overdue principal or interest has been overdue on `day`.

    Principal and interest fall due at maturity, or on the date of a default declared
    before it (提前到期): claims.penalty_from, the first day of penalty interest. The due
    day itself is day 0; nothing outstanding (costs aside) means nothing overdue."""
    due = penalty_from(loan)
    if day <= due:
        return 0
    owed = claim_as_of(loan, events, day)
    if owed.principal + owed.interest + owed.penalty_interest <= 0:
        return 0
    return (day - due).days


def arrears_floor(days: int) -> str:
    for limit, grade in ARREARS_FLOORS:
        if days > limit:
            return grade
    return "normal"


def recorded_on(grades: Sequence[LoanGrade], day: dt.date) -> str | None:
    """The latest grade recorded on or before `day` (the later record wins a tie)."""
    before = [g for g in grades if g.as_of <= day]
    return max(before, key=lambda g: (g.as_of, g.id)).grade if before else None


@dataclass(frozen=True)
class GradeOnDate:
    grade: str
    recorded_grade: str | None
    arrears_floor: str
    days_overdue: int
    defaulted: bool


def grade_on(loan: Loan, events: Iterable[MoneyEvent], grades: Sequence[LoanGrade],
             day: dt.date) -> GradeOnDate:
    days = days_overdue(loan, list(events), day)
    floor = arrears_floor(days)
    recorded = recorded_on(grades, day)
    defaulted = loan.defaulted_on is not None and loan.defaulted_on <= day
    grade = worst(recorded or "normal", floor, "substandard" if defaulted else "normal")
    return GradeOnDate(grade, recorded, floor, days, defaulted)


def check_as_of(loan: Loan, as_of: dt.date, today: dt.date) -> None:
    if as_of < loan.disbursed_on or as_of > today:
        raise Invalid("as_of_out_of_range",
                      f"as_of must be between the disbursement ({loan.disbursed_on}) "
                      f"and today ({today})")


def grades_of(session: Session, loan_ids: Sequence[int]) -> dict[int, list[LoanGrade]]:
    out: dict[int, list[LoanGrade]] = {i: [] for i in loan_ids}
    if loan_ids:
        for g in session.scalars(select(LoanGrade).where(LoanGrade.loan_id.in_(loan_ids))
                                 .order_by(LoanGrade.as_of, LoanGrade.id)):
            out[g.loan_id].append(g)
    return out


def record_grade(session: Session, loan: Loan, *, grade: str, as_of: dt.date,
                 today: dt.date, actor_id: int | None = None) -> LoanGrade:
    """The bank grades the loan from `as_of` on (not before disbursement, not in the
    future). Appended to the history; earlier records stay as they were."""
    if grade not in GRADES:
        raise Invalid("invalid_grade", f"grade must be one of {', '.join(GRADES)}")
    check_as_of(loan, as_of, today)
    row = LoanGrade(loan_id=loan.id, grade=grade, as_of=as_of, recorded_by=actor_id,
                    recorded_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, "loan.grade", "loan", loan.id, actor_id=actor_id,
                 after={"grade_id": row.id, "grade": grade, "as_of": as_of})
    return row
