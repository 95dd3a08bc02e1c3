"""The operator's working-day calendar page: when the State Council publishes next year's
holidays and make-up working days (调休), an operator records them here; they win over the
calendar library (market/calendar.py). The page also lists the library's holidays and
make-up days of this year and the next, to check against the notice."""
from __future__ import annotations

import datetime as dt

import holidays
from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from . import calendar
from .db import get_session
from .errors import NotFound
from .forms import BaseForm
from .web import add_nav, role_required

bp = Blueprint("calendar_web", __name__)


class CalendarDayForm(BaseForm):
    day = DateField(_l("Date"), validators=[DataRequired()])
    working = SelectField(_l("The day is"), choices=[("0", _l("a holiday")),
                                                    ("1", _l("a working day"))])
    note = StringField(_l("Note (e.g. the State Council notice)"),
                       validators=[Optional(), Length(max=200)])


class ActionForm(BaseForm):
    pass


def _library_days(year: int) -> list[tuple[dt.date, str, bool]]:
    """The library's holidays (named in the reader's language) and make-up working days."""
    lang = "zh_CN" if str(get_locale()).startswith("zh") else "en_US"
    lib = holidays.China(years=year, language=lang)
    days = [(d, name, False) for d, name in lib.items()]
    days += [(d, "", True) for d in lib.weekend_workdays if d.year == year]
    return sorted(days)


@bp.route("/admin/calendar", methods=["GET", "POST"])
@role_required("operator")
def page():
    s = get_session()
    form = CalendarDayForm()
    if form.validate_on_submit():
        calendar.set_day(s, form.day.data, form.working.data == "1", form.note.data or "",
                         current_user.id)
        s.commit()
        flash(_("Recorded."), "info")
        return redirect(url_for("calendar_web.page"))
    year = dt.date.today().year
    rows = list(s.scalars(select(calendar.CalendarDay).order_by(calendar.CalendarDay.day)))
    return render_template("market/calendar.html", form=form, rows=rows,
                           action_form=ActionForm(),
                           library={y: _library_days(y) for y in (year, year + 1)})


@bp.route("/admin/calendar/<day>/delete", methods=["POST"])
@role_required("operator")
def delete(day: str):
    s = get_session()
    if ActionForm().validate_on_submit():
        try:
            calendar.clear_day(s, dt.date.fromisoformat(day), current_user.id)
            s.commit()
        except (ValueError, NotFound):
            s.rollback()
            flash(_("No such record."), "error")
    return redirect(url_for("calendar_web.page"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "calendar_web.page", _l("Working days"), roles=("operator",), order=85)
