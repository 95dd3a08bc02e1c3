"""Shared WTForms pieces (Flask-WTF gives CSRF on every form)."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import StringField
from wtforms.validators import ValidationError

from .inputs import DATE_MAX, DATE_MIN, problems
from .money import parse_amount


class AmountField(StringField):
    """A money amount typed by a person: "1,234.50" or "1234.5"; exact Decimal."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = parse_amount(valuelist[0].replace(",", "").replace("，", "").strip())
            except ValueError as exc:
                self.data = None
                # parse_amount's reasons are for the API; a person gets one clear sentence.
                raise ValueError(_("Enter an amount in yuan with at most two decimals, "
                                   "e.g. 1,234.50 (not negative).")) from exc

    def _value(self):
        return "" if self.data is None else f"{Decimal(self.data):.2f}"


class BaseForm(FlaskForm):
    """Every form is held to market.inputs' bounds: dates in the window, text storable and
    not longer than TEXT_MAX, ids that a key column can hold."""

    class Meta:
        def wrap_formdata(self, form, formdata):
            # Flask-WTF reads a JSON body as the form; only an object of strings is one
            # (an array, a number or nested values would reach the fields as odd types).
            if formdata is _Auto and _is_submitted() and not request.files \
                    and not request.form and request.is_json:
                body = request.get_json(silent=True)
                flat = isinstance(body, dict) and all(
                    isinstance(v, str) or (isinstance(v, list)
                                           and all(isinstance(x, str) for x in v))
                    for v in body.values())
                return ImmutableMultiDict(body if flat else {})
            return super().wrap_formdata(form, formdata)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            found = problems(field.data, field.name)
            if found:
                field.errors = [*field.errors, *(_bound_message(m) for msgs in found.values()
                                                 for m in msgs)]
                ok = False
        return ok


def _bound_message(problem: str) -> str:
    """market.inputs' reasons are for the API; a person gets a sentence in their language."""
    if problem.startswith("dates"):
        return _("Enter a date between %(a)s and %(b)s.", a=DATE_MIN.isoformat(),
                 b=DATE_MAX.isoformat())
    if problem.startswith("text is at most"):
        return _("This text is too long.")
    if problem == "no such id":
        return _("Not a valid choice.")
    return _("This text contains characters that cannot be stored.")


def positive(form, field):
    if field.data is not None and field.data <= 0:
        raise ValidationError(_("Must be greater than zero."))
