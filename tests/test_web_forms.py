"""Shared form fields: amounts typed by people, exact to the fen, refused in their language."""
from __future__ import annotations

from decimal import Decimal

from werkzeug.datastructures import MultiDict

from market.forms import AmountField, BaseForm, positive


class PriceForm(BaseForm):
    class Meta:
        csrf = False

    price = AmountField("price", validators=[positive])


def _form(app, raw: str, lang: str = "zh-CN") -> PriceForm:
    with app.test_request_context("/", method="POST", headers={"Accept-Language": lang}):
        form = PriceForm(formdata=MultiDict({"price": raw}))
        form.validate()
        # render the errors while the locale is known
        form.messages = [str(e) for e in form.price.errors]
        return form


def test_amounts_accept_grouping_and_stay_decimal(app):
    """Money is Decimal to the fen (never float); people type 1,234.5 or 1，234.50."""
    for raw in ("1,234.5", "1，234.50", " 1234.50 "):
        form = _form(app, raw)
        assert form.price.data == Decimal("1234.50") and not form.messages, raw
        assert isinstance(form.price.data, Decimal)


def test_bad_amounts_are_refused_in_the_readers_language(app):
    for raw in ("abc", "-5", "1.234", "1e400", "NaN"):
        form = _form(app, raw)
        assert form.price.data is None and "金额" in form.messages[0], raw
    assert "amount in yuan" in _form(app, "abc", "en").messages[0]
    assert _form(app, "0").messages == ["必须大于零。"]
