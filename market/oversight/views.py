"""Web pages: the NPL table of every bank (operators, regulators; a bank sees itself), the
IP-pledge report downloads, the bank's NPL panel with its last 8 quarters, and the form a
bank saves its overall NPL ratio with."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from .. import settings_store
from ..accounts.models import Org
from ..db import database, get_session
from ..errors import DomainError
from ..web import add_nav, add_panel, role_required
from ..lending.services import bank_loan
from . import access, grades, npl, reports
from .api import report_file as file_response, today
from .chart import quarters_chart
from .periods import Quarter, last_quarters

bp = Blueprint("oversight_web", __name__)
CHART_QUARTERS = 8


def _quarter_from_args() -> Quarter:
    """?period= on a page: a quarter that has begun, else today's (with a message)."""
    now = Quarter.of(today())
    raw = request.args.get("period")
    if not raw:
        return now
    try:
        quarter = Quarter.parse(raw)
    except DomainError:
        flash(_("Choose a quarter such as %(example)s.", example=str(now)), "error")
        return now
    if quarter > now:
        flash(_("%(period)s has not begun.", period=str(quarter)), "error")
        return now
    return quarter


@bp.route("/oversight/npl")
@role_required(*access.READERS)
def npl_table():
    s = get_session()
    quarter = _quarter_from_args()
    rows = npl.positions(s, access.banks_for(s, current_user), quarter, today())
    names = {o.id: o for o in s.scalars(select(Org).where(Org.id.in_([r["org_id"]
                                                                    for r in rows])))}
    return render_template("oversight/npl.html", rows=rows, names=names, quarter=quarter,
                           choices=list(reversed(last_quarters(today(), CHART_QUARTERS))),
                           tolerance=settings_store.get(s, "npl_tolerance_pp"))


@bp.route("/oversight/reports/ip-pledge.<fmt>")
@role_required(*access.READERS)
def report_file(fmt: str):
    if fmt not in ("csv", "xlsx"):
        return redirect(url_for("oversight_web.npl_table"))
    s = get_session()
    quarter = _quarter_from_args()
    rows = reports.report_rows(database(), s, access.banks_for(s, current_user), quarter,
                               today())
    return file_response(rows, quarter, fmt)


@bp.route("/oversight/overall-npl", methods=["POST"])
@role_required("bank")
def save_overall_npl():
    """The bank's overall NPL ratio for a quarter, entered as a percentage (1.35 = 1.35%)."""
    s = get_session()
    try:
        quarter = Quarter.parse(request.form.get("period", ""))
        pct = Decimal(request.form.get("ratio_pct", "").strip().replace(",", ""))
        if not pct.is_finite() or not 0 <= pct <= 100:
            raise InvalidOperation
    except DomainError:
        flash(_("Choose a quarter such as %(example)s.", example=str(Quarter.of(today()))),
              "error")
        return redirect(url_for("web.dashboard"))
    except InvalidOperation:
        flash(_("Enter the overall NPL ratio as a percentage between 0 and 100."), "error")
        return redirect(url_for("web.dashboard"))
    npl.set_overall_ratio(s, current_user.org_id, quarter, pct / 100,
                          actor_id=current_user.id)
    s.commit()
    flash(_("Overall NPL ratio for %(period)s saved.", period=str(quarter)), "info")
    return redirect(url_for("web.dashboard"))


GRADE_LABELS = {"normal": _l("Normal"), "special_mention": _l("Special mention"),
                "substandard": _l("Substandard"), "doubtful": _l("Doubtful"),
                "loss": _l("Loss")}


def _loan_or_404(s, loan_id: int):
    try:
        return access.loan_for_reading(s, loan_id, current_user)
    except DomainError:
        abort(404)


@bp.route("/oversight/loans/<int:loan_id>/grades")
@role_required("bank", "operator", "owner", "regulator")
def loan_grades(loan_id: int):
    """The loan's grade today and why (recorded, arrears, default), and its history."""
    s = get_session()
    loan = _loan_or_404(s, loan_id)
    history = grades.grades_of(s, [loan.id])[loan.id]
    now = grades.grade_on(loan, loan.events, history, today())
    return render_template("oversight/loan_grades.html", loan=loan, now=now, today=today(),
                           history=list(reversed(history)), labels=GRADE_LABELS,
                           may_grade=current_user.role == "bank"
                           and current_user.org_id == loan.bank_org_id)


@bp.route("/oversight/loans/<int:loan_id>/grades", methods=["POST"])
@role_required("bank")
def record_loan_grade(loan_id: int):
    s = get_session()
    try:
        loan = bank_loan(s, loan_id, current_user, lock=True)
    except DomainError:
        abort(404)
    back = redirect(url_for("oversight_web.loan_grades", loan_id=loan_id))
    grade = request.form.get("grade")
    try:
        as_of = dt.date.fromisoformat(request.form.get("as_of", ""))
    except ValueError:
        as_of = None
    if grade not in GRADE_LABELS or as_of is None:
        flash(_("Choose a grade and the date it applies from."), "error")
        return back
    try:
        grades.record_grade(s, loan, grade=grade, as_of=as_of, today=today(),
                            actor_id=current_user.id)
    except DomainError:
        s.rollback()
        flash(_("The date must be between the disbursement (%(start)s) and today.",
                start=loan.disbursed_on.isoformat()), "error")
        return back
    s.commit()
    flash(_("Graded %(grade)s from %(date)s.", grade=GRADE_LABELS[grade],
            date=as_of.isoformat()), "info")
    return back


def _npl_panel(user, s):
    quarters = last_quarters(today(), CHART_QUARTERS)
    tolerance = settings_store.get(s, "npl_tolerance_pp")
    series = [(q, npl.position(s, user.org_id, q, today(), tolerance)) for q in quarters]
    return Markup(render_template(
        "oversight/_npl_panel.html", series=series, current=series[-1][1],
        quarter=quarters[-1], tolerance=tolerance, flag=npl.open_flag(s, user.org_id),
        chart=quarters_chart(series, tolerance)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # The core's dashboard entry names the roles it knew; regulators have one too.
    add_nav(app, "web.dashboard", _l("Dashboard"), roles=("regulator",), order=10)
    add_nav(app, "oversight_web.npl_table", _l("NPL oversight"),
            roles=("operator", "regulator"), order=70)
    add_panel(app, _npl_panel, roles=("bank",), order=15)
