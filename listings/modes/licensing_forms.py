"""The licensing terms on the listing form (a mixin of listings.forms.ListingForm)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from market.forms import AmountField, BaseForm

from .licensing_models import KINDS

KIND_CHOICES = [("non_exclusive", _l("Non-exclusive (普通)")), ("sole", _l("Sole (排他)")),
                ("exclusive", _l("Exclusive (独占)"))]
assert {k for k, _v in KIND_CHOICES} == set(KINDS)


def _rate(form, field):
    try:
        value = Decimal((field.data or "0").strip())
    except InvalidOperation as exc:
        raise ValidationError(_l("A rate such as 0.03")) from exc
    if not value.is_finite() or not 0 <= value <= 1:
        raise ValidationError(_l("A rate such as 0.03"))


class LicensingFields:
    lic_kind = SelectField(_l("Licence kind"), choices=KIND_CHOICES, validators=[Optional()])
    lic_open = BooleanField(_l("Open licence (patents, non-exclusive)"))
    lic_field = StringField(_l("Field of use (empty: all fields)"),
                            validators=[Optional(), Length(max=200)])
    lic_territory = StringField(_l("Territory"), default="CN",
                                validators=[Optional(), Length(max=60)])
    lic_term_months = IntegerField(_l("Term (months)"),
                                   validators=[Optional(), NumberRange(min=1, max=1200)])
    lic_upfront_fee = AmountField(_l("Upfront fee"), validators=[Optional()])
    lic_royalty_rate = StringField(_l("Running royalty rate"), default="0",
                                   validators=[Optional(), _rate])
    lic_minimum_annual_royalty = AmountField(_l("Minimum annual royalty"),
                                             validators=[Optional()])
    lic_consent_ref = StringField(_l("Consent reference (pledgor's or pledgee's)"),
                                  validators=[Optional(), Length(max=200)])

    def licensing_data(self) -> dict:
        """The API's `licensing` terms and consent for a licensing listing; none given
        (no fee typed) keeps the terms already saved."""
        if self.lic_upfront_fee.data is None and self.lic_term_months.data is None:
            return {}
        terms = {"kind": self.lic_kind.data or "non_exclusive", "open": bool(self.lic_open.data),
                 "field": self.lic_field.data or "", "territory": self.lic_territory.data or "CN",
                 "term_months": self.lic_term_months.data or 0,
                 "upfront_fee": self.lic_upfront_fee.data or Decimal("0.00"),
                 "royalty_rate": Decimal((self.lic_royalty_rate.data or "0").strip()),
                 "minimum_annual_royalty": self.lic_minimum_annual_royalty.data
                 or Decimal("0.00")}
        consent = (self.lic_consent_ref.data or "").strip() or None
        key = "pledgor_consent_ref" if self.loan_id.data else "pledgee_consent_ref"
        return {"licensing": terms, key: consent}


class RoyaltyReportForm(BaseForm):
    period_start = DateField(_l("Period from"), validators=[DataRequired()])
    period_end = DateField(_l("Period to"), validators=[DataRequired()])
    net_sales = AmountField(_l("Net sales"), validators=[DataRequired()])
