"""/api/v1/calendar (API.md "Listed transfer"): operators record holidays and working
days; anyone asks for the n-th working day after a date."""
from __future__ import annotations

import datetime as dt

from flask import Flask
from marshmallow import Schema, fields, validate

from . import calendar
from .api import API_PREFIX, Blueprint, api_auth, api_user, register
from .db import get_session
from .errors import Invalid

blp = Blueprint("calendar_api", __name__, url_prefix=API_PREFIX,
                description="Working-day calendar")
SECURITY = [{"bearer": []}]


class CalendarDayIn(Schema):
    working = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))


class CalendarDayOut(Schema):
    date = fields.Date(required=True)
    working = fields.Boolean(required=True)
    note = fields.String(required=True)


class WorkingDayQuery(Schema):
    after = fields.Date(required=True)
    n = fields.Integer(required=True, validate=validate.Range(min=1, max=calendar.MAX_DAYS))


class WorkingDayOut(Schema):
    after = fields.Date(required=True)
    n = fields.Integer(required=True)
    date = fields.Date(required=True)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid("invalid_date", "the date must be YYYY-MM-DD") from None


@blp.put("/calendar/days/<string:day>")
@api_auth("operator")
@blp.arguments(CalendarDayIn)
@blp.response(200, CalendarDayOut)
@blp.doc(security=SECURITY)
def put_day(body, day: str):
    """Record a day as a holiday or a working day (wins over the library's calendar)."""
    s = get_session()
    row = calendar.set_day(s, _day(day), body["working"], body["note"], api_user().id)
    out = {"date": row.day, "working": row.working, "note": row.note}
    s.commit()
    return out


@blp.delete("/calendar/days/<string:day>")
@api_auth("operator")
@blp.response(204)
@blp.doc(security=SECURITY)
def delete_day(day: str):
    """Forget an operator's record: the library's calendar decides the day again."""
    s = get_session()
    calendar.clear_day(s, _day(day), api_user().id)
    s.commit()
    return ""


@blp.get("/calendar/working-day")
@blp.arguments(WorkingDayQuery, location="query")
@blp.response(200, WorkingDayOut)
def working_day(args):
    """The n-th working day after `after` (holidays, 调休 and operators' records)."""
    date = calendar.nth_working_day_after(get_session(), args["after"], args["n"])
    return {"after": args["after"], "n": args["n"], "date": date}


def init_app(app: Flask) -> None:
    from .extensions import csrf

    register(app, blp)
    csrf.exempt(blp)  # bearer-token API
