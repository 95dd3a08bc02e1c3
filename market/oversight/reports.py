"""Quarterly IP-pledge statistics per bank (API.md "Oversight and reports"; 银保监发〔2019〕34号
asks banks to report them; seeds 002/003 ask for first-loan figures).

Counts and sums of what happened in the quarter; outstanding figures on its last day (the
same book as the NPL position). After a quarter ends its report is generated once per
bank and kept (unique per bank and quarter, so any number of schedulers or requests may
try); a past quarter is always answered from the kept report.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit
from ..db import Database, sqlite_write_intent
from ..lending.models import Loan, LoanEvent
from ..settlement.models import Settlement
from ..timeutil import utcnow
from .models import IpPledgeReport
from .npl import ZERO, bank_ids, book_on
from .periods import Quarter

FIELDS = ("org_id", "period", "new_loans", "new_principal", "first_loans",
          "outstanding_loans", "outstanding_principal", "defaults", "sales_settled",
          "sale_proceeds", "recoveries", "median_days_default_to_settlement")
MONEY_FIELDS = ("new_principal", "outstanding_principal", "sale_proceeds", "recoveries")
# Everything applied to claims, from every source: repayments and disposal recoveries.
APPLIED_KINDS = ("repayment", "recovery")


def compute(session: Session, org_id: int, quarter: Quarter, today: dt.date) -> dict:
    first, last = quarter.first_day, quarter.last_day
    new = session.execute(
        select(func.count(), func.sum(Loan.principal),
               func.count().filter(Loan.first_loan.is_(True)))
        .where(Loan.bank_org_id == org_id, Loan.disbursed_on >= first,
               Loan.disbursed_on <= last)).one()
    book = book_on(session, org_id, quarter.position_date(today))
    defaults = session.scalar(select(func.count()).where(
        Loan.bank_org_id == org_id, Loan.defaulted_on >= first, Loan.defaulted_on <= last))
    # A sale counts on the date it was applied to the claim (its as_of, the loan's
    # settled_on), like the recovery it made.
    sales = session.execute(
        select(func.count(), func.sum(Settlement.price))
        .join(Loan, Loan.id == Settlement.loan_id)
        .where(Loan.bank_org_id == org_id, Settlement.status == "settled",
               Settlement.as_of >= first, Settlement.as_of <= last)).one()
    recovered = session.scalar(
        select(func.sum(LoanEvent.amount)).join(Loan, Loan.id == LoanEvent.loan_id)
        .where(Loan.bank_org_id == org_id, LoanEvent.kind.in_(APPLIED_KINDS),
               LoanEvent.on_date >= first, LoanEvent.on_date <= last))
    spans = [(s - d).days for d, s in session.execute(
        select(Loan.defaulted_on, Loan.settled_on)
        .where(Loan.bank_org_id == org_id, Loan.defaulted_on.is_not(None),
               Loan.settled_on >= first, Loan.settled_on <= last))]
    median = statistics.median(spans) if spans else None
    return {
        "org_id": org_id, "period": str(quarter),
        "new_loans": new[0], "new_principal": new[1] if new[1] is not None else ZERO,
        "first_loans": new[2],
        "outstanding_loans": len(book),
        "outstanding_principal": sum((o.principal for o in book), ZERO),
        "defaults": defaults,
        "sales_settled": sales[0], "sale_proceeds": sales[1] if sales[1] is not None else ZERO,
        "recoveries": recovered if recovered is not None else ZERO,
        # Half a day when the count is even: exact in a JSON number.
        "median_days_default_to_settlement": None if median is None else (
            int(median) if median == int(median) else float(median)),
    }


def _to_json(row: dict) -> str:
    return json.dumps({k: (f"{v:.2f}" if k in MONEY_FIELDS else v) for k, v in row.items()})


def _from_json(text: str) -> dict:
    row = json.loads(text)
    return {k: (Decimal(v) if k in MONEY_FIELDS else v) for k, v in row.items()}


def kept(session: Session, org_ids: list[int], quarter: Quarter) -> dict[int, dict]:
    rows = session.scalars(select(IpPledgeReport).where(
        IpPledgeReport.period == str(quarter), IpPledgeReport.org_id.in_(org_ids)))
    return {r.org_id: _from_json(r.figures) for r in rows}


def keep(db: Database, org_ids: list[int], quarter: Quarter,
         today: dt.date) -> tuple[int, dict[int, dict]]:
    """Generate and keep the ended quarter's report of each bank that has none yet; the
    unique key makes each happen once whoever else tries at the same time. Returns how
    many this call made, and every bank's kept row."""
    if quarter.last_day >= today:
        return 0, {}
    made, rows = 0, {}
    token = sqlite_write_intent.set(True)  # a GET may keep a report: it writes
    try:
        for org_id in org_ids:
            with db.transaction() as s:
                found = kept(s, [org_id], quarter)
                if found:
                    rows.update(found)
                    continue
                row = compute(s, org_id, quarter, today)
                try:
                    with s.begin_nested():
                        report = IpPledgeReport(org_id=org_id, period=str(quarter),
                                                figures=_to_json(row), generated_at=utcnow())
                        s.add(report)
                except IntegrityError:  # another scheduler kept it first: theirs counts
                    rows.update(kept(s, [org_id], quarter))
                    continue
                audit.record(s, "oversight.report_keep", "ip_pledge_report", report.id,
                             after={"org_id": org_id, "period": str(quarter)})
                rows[org_id] = _from_json(report.figures)
                made += 1
    finally:
        sqlite_write_intent.reset(token)
    return made, rows


def report_rows(db: Database, session: Session, org_ids: list[int], quarter: Quarter,
                today: dt.date) -> list[dict]:
    """The rows of a quarter: kept ones for an ended quarter (kept now if the scheduler has
    not yet), computed live for the running one."""
    if quarter.last_day >= today:
        return [compute(session, org_id, quarter, today) for org_id in org_ids]
    found = kept(session, org_ids, quarter)
    missing = [i for i in org_ids if i not in found]
    if missing:
        found.update(keep(db, missing, quarter, today)[1])
    return [found[i] for i in org_ids if i in found]


def run_quarter_close(db: Database, today: dt.date) -> int:
    """The scheduler's part: keep the last ended quarter's report of every bank."""
    with db.transaction() as s:
        ids = bank_ids(s)
    return keep(db, ids, Quarter.of(today).previous(), today)[0]


# --- files ----------------------------------------------------------------------------

def _cell(key: str, value):
    if value is None:
        return ""
    return f"{value:.2f}" if key in MONEY_FIELDS else value


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([_cell(k, row[k]) for k in FIELDS])
    return out.getvalue()


def to_xlsx(rows: list[dict], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(FIELDS))
    for row in rows:
        ws.append([row[k] for k in FIELDS])
        for col, key in enumerate(FIELDS, start=1):
            if key in MONEY_FIELDS:
                ws.cell(row=ws.max_row, column=col).number_format = "#,##0.00"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
