"""/api/v1 oversight: loan grades, banks' overall NPL ratios, the NPL position and the
quarterly IP-pledge report (API.md "Oversight and reports")."""
from __future__ import annotations

from flask import Response, current_app
from marshmallow import Schema, fields, validate

from ..api import (API_PREFIX, Blueprint, MoneyField, PageArgs, RateField, api_auth, api_user,
                   page_schema)
from ..assets.api import errors
from ..db import database, get_session
from ..errors import Invalid
from ..lending.services import bank_loan
from ..timeutil import business_date, utcnow
from . import access, grades, npl, reports
from .models import GRADES
from .periods import Quarter

blp = Blueprint("oversight_api", __name__, url_prefix=API_PREFIX,
                description="Oversight: grades, NPL position, reports")
SECURITY = [{"bearer": []}]
FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def today():
    return business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])


def quarter_arg(raw: str | None) -> Quarter:
    """A quarter that has begun (default: today's); a later one has no figures yet."""
    now = Quarter.of(today())
    if raw is None:
        return now
    quarter = Quarter.parse(raw)
    if quarter > now:
        raise Invalid("invalid_period", f"{quarter} has not begun")
    return quarter


def page_of(items: list, args: dict) -> dict:
    page, per_page = args["page"], args["per_page"]
    return {"items": items[(page - 1) * per_page: page * per_page], "total": len(items),
            "page": page, "per_page": per_page}


# --- schemas --------------------------------------------------------------------------

class GradeIn(Schema):
    grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    as_of = fields.Date(required=True)


class GradeOut(Schema):
    id = fields.Integer(required=True)
    loan_id = fields.Integer(required=True)
    grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    as_of = fields.Date(required=True)
    recorded_by = fields.Integer(allow_none=True)
    recorded_at = fields.DateTime(required=True)


class GradeQuery(Schema):
    as_of = fields.Date(load_default=None)


class LoanGradeOut(Schema):
    loan_id = fields.Integer(required=True)
    as_of = fields.Date(required=True)
    grade = fields.String(required=True, validate=validate.OneOf(GRADES),
                          metadata={"description": "the worse of recorded and floors"})
    recorded_grade = fields.String(allow_none=True, validate=validate.OneOf(GRADES))
    arrears_floor = fields.String(required=True, validate=validate.OneOf(GRADES))
    days_overdue = fields.Integer(required=True)
    defaulted = fields.Boolean(required=True)


class OverallNplIn(Schema):
    period = fields.String(required=True, metadata={"example": "2026-Q3"})
    ratio = RateField(required=True)


class OverallNplOut(Schema):
    org_id = fields.Integer(required=True)
    period = fields.String(required=True)
    ratio = RateField(required=True)


class PeriodQuery(PageArgs):
    period = fields.String(load_default=None, metadata={"example": "2026-Q3"})


class ReportQuery(PeriodQuery):
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class NplOut(Schema):
    org_id = fields.Integer(required=True)
    ip_loans_principal = MoneyField(required=True)
    ip_npl_principal = MoneyField(required=True)
    ip_npl_ratio = RateField(required=True, allow_none=True)
    overall_npl_ratio = RateField(required=True, allow_none=True)
    gap_pp = fields.String(required=True, allow_none=True,
                           metadata={"pattern": r"^-?\d+\.\d{2}$", "example": "1.25"})
    within_tolerance = fields.Boolean(required=True, allow_none=True)


class ReportOut(Schema):
    org_id = fields.Integer(required=True)
    period = fields.String(required=True)
    new_loans = fields.Integer(required=True)
    new_principal = MoneyField(required=True)
    first_loans = fields.Integer(required=True)
    outstanding_loans = fields.Integer(required=True)
    outstanding_principal = MoneyField(required=True)
    defaults = fields.Integer(required=True)
    sales_settled = fields.Integer(required=True)
    sale_proceeds = MoneyField(required=True)
    recoveries = MoneyField(required=True)
    median_days_default_to_settlement = fields.Float(required=True, allow_none=True)


# --- grades ---------------------------------------------------------------------------

@blp.post("/loans/<int:loan_id>/grades")
@errors(blp, 401, 403, 404, 422)
@api_auth("bank")
@blp.arguments(GradeIn)
@blp.response(201, GradeOut)
@blp.doc(security=SECURITY)
def record_grade(body, loan_id):
    """五级分类 from as_of on (the loan's bank); before disbursement or in the future → 422
    as_of_out_of_range."""
    s = get_session()
    user = api_user()
    loan = bank_loan(s, loan_id, user, lock=True)
    row = grades.record_grade(s, loan, grade=body["grade"], as_of=body["as_of"],
                              today=today(), actor_id=user.id)
    s.commit()
    return row


@blp.get("/loans/<int:loan_id>/grades")
@errors(blp, 401, 403, 404, 422)
@api_auth()
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(GradeOut, "GradePage"))
@blp.doc(security=SECURITY)
def grade_history(args, loan_id):
    """Every grade recorded for the loan, oldest first."""
    s = get_session()
    loan = access.loan_for_reading(s, loan_id, api_user())
    return page_of(grades.grades_of(s, [loan.id])[loan.id], args)


@blp.get("/loans/<int:loan_id>/grade")
@errors(blp, 401, 403, 404, 422)
@api_auth()
@blp.arguments(GradeQuery, location="query")
@blp.response(200, LoanGradeOut)
@blp.doc(security=SECURITY)
def loan_grade(args, loan_id):
    """The loan's grade on as_of (default today): the worse of the latest recorded grade
    and the floors its arrears and a declared default set."""
    s = get_session()
    loan = access.loan_for_reading(s, loan_id, api_user())
    day = args["as_of"] or today()
    grades.check_as_of(loan, day, today())
    g = grades.grade_on(loan, loan.events, grades.grades_of(s, [loan.id])[loan.id], day)
    return {"loan_id": loan.id, "as_of": day, "grade": g.grade,
            "recorded_grade": g.recorded_grade, "arrears_floor": g.arrears_floor,
            "days_overdue": g.days_overdue, "defaulted": g.defaulted}


# --- NPL ------------------------------------------------------------------------------

@blp.put("/banks/<int:org_id>/overall-npl")
@errors(blp, 401, 403, 404, 422)
@api_auth("bank")
@blp.arguments(OverallNplIn)
@blp.response(200, OverallNplOut)
@blp.doc(security=SECURITY)
def put_overall_npl(body, org_id):
    """The bank's overall NPL ratio for a quarter ("2026-Q3"; else 422 invalid_period)."""
    s = get_session()
    user = api_user()
    quarter = Quarter.parse(body["period"])
    access.own_bank(user, org_id)
    row = npl.set_overall_ratio(s, org_id, quarter, body["ratio"], actor_id=user.id)
    s.commit()
    return {"org_id": row.org_id, "period": row.period, "ratio": row.ratio}


@blp.get("/oversight/npl")
@errors(blp, 401, 403, 422)
@api_auth(*access.READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, page_schema(NplOut, "NplPage"))
@blp.doc(security=SECURITY)
def npl_positions(args):
    """Each bank's IP-pledge NPL position on the quarter's last day (today while it runs):
    a bank sees itself; operators and regulators every bank."""
    s = get_session()
    quarter = quarter_arg(args["period"])
    rows = npl.positions(s, access.banks_for(s, api_user()), quarter, today())
    for row in rows:
        row["gap_pp"] = None if row["gap_pp"] is None else f"{row['gap_pp']:.2f}"
    return page_of(rows, args)


# --- reports --------------------------------------------------------------------------

@blp.get("/reports/ip-pledge")
@errors(blp, 401, 403, 422)
@api_auth(*access.READERS)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, page_schema(ReportOut, "IpPledgeReportPage"))
@blp.doc(security=SECURITY, description="format=csv (text/csv) and format=xlsx "
         "(a spreadsheet) return every row at once.")
def ip_pledge_report(args):
    """Quarterly IP-pledge statistics: banks their own row; operators and regulators every
    bank. A past quarter is the report kept when it ended."""
    s = get_session()
    quarter = quarter_arg(args["period"])
    rows = reports.report_rows(database(), s, access.banks_for(s, api_user()), quarter,
                               today())
    if args["format"] in ("csv", "xlsx"):
        return report_file(rows, quarter, args["format"])
    return page_of(rows, args)


def report_file(rows: list[dict], quarter: Quarter, fmt: str) -> Response:
    """The report as a CSV or XLSX download (the API's and the web page's)."""
    headers = {"Content-Disposition": f'attachment; filename="ip-pledge-{quarter}.{fmt}"'}
    if fmt == "csv":
        return Response(reports.to_csv(rows), mimetype="text/csv", headers=headers)
    return Response(reports.to_xlsx(rows, str(quarter)), mimetype=XLSX, headers=headers)
