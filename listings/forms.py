"""Web forms (Flask-WTF: CSRF on every one)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateTimeLocalField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField, widgets)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from market.forms import AmountField, BaseForm

from .labels import MODE_LABELS
from .modes.licensing_forms import LicensingFields


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ListingForm(LicensingFields, BaseForm):
    loan_id = SelectField(_l("From a defaulted loan"), coerce=lambda v: int(v) if v else None,
                          validators=[Optional()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    asset_ids = CheckboxesField(_l("Assets"), coerce=int)
    mode = SelectField(_l("Way of disposal"), choices=[(k, v) for k, v in MODE_LABELS.items()])
    ask_price = AmountField(_l("Asking price (transfer, licensing, equity)"),
                            validators=[Optional()])
    start_price = AmountField(_l("Starting price"), validators=[Optional()])
    increment = AmountField(_l("Bid increment"), validators=[Optional()])
    deposit = AmountField(_l("Deposit"), validators=[Optional()])
    reserve_price = AmountField(_l("Reserve price (optional)"), validators=[Optional()])
    starts_at = DateTimeLocalField(_l("Bidding starts"), format="%Y-%m-%dT%H:%M",
                                   validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Bidding ends"), format="%Y-%m-%dT%H:%M",
                                 validators=[Optional()])
    # Empty: the operator's soft-close defaults (settings), which the new-listing page
    # fills in.
    extension_window_s = IntegerField(_l("Soft-close window (seconds)"),
                                      validators=[Optional(), NumberRange(min=1)])
    extension_s = IntegerField(_l("Extension per late bid (seconds)"),
                               validators=[Optional(), NumberRange(min=1)])
    allow_proxy = BooleanField(_l("Allow proxy bidding"))
    # Equity contribution: a bank contributing pledged IP acts with the pledgor's consent.
    pledgor_consent_ref = StringField(_l("Pledgor's consent (reference)"),
                                      validators=[Optional(), Length(max=120)])
    # Listed transfer: the asking price above is the list price.
    transfer_deposit = AmountField(_l("Deposit to register"), validators=[Optional()])
    transfer_increment = AmountField(_l("Bid increment if several buyers register"),
                                     validators=[Optional()])
    disclosure_days = IntegerField(_l("Disclosure working days (empty: the rule)"),
                                   validators=[Optional(), NumberRange(min=1, max=366)])

    def local_to_utc(self, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        tz = ZoneInfo(current_app.config.get("MARKET_TIMEZONE", "Asia/Shanghai"))
        return value.replace(tzinfo=tz).astimezone(dt.timezone.utc)

    def to_data(self) -> dict:
        data = {"title": self.title.data, "description": self.description.data or None,
                "mode": self.mode.data, "asset_ids": list(self.asset_ids.data or []),
                "loan_id": self.loan_id.data or None, "ask_price": None, "auction": None}
        if self.mode.data == "auction":
            data["auction"] = {
                "start_price": self.start_price.data, "increment": self.increment.data,
                "deposit": self.deposit.data, "reserve_price": self.reserve_price.data,
                "starts_at": self.local_to_utc(self.starts_at.data),
                "ends_at": self.local_to_utc(self.ends_at.data),
                "extension_window_s": self.extension_window_s.data or None,
                "extension_s": self.extension_s.data or None,
                "allow_proxy": bool(self.allow_proxy.data),
            }
        elif self.mode.data == "equity":  # the asking price is the minimum valuation
            data["equity"] = ({"min_valuation": self.ask_price.data}
                              if self.ask_price.data is not None else None)
            if self.pledgor_consent_ref.data:  # an edit without one keeps the old one
                data["pledgor_consent_ref"] = self.pledgor_consent_ref.data
        elif self.mode.data == "transfer":  # the asking price is the list price
            terms = {"list_price": self.ask_price.data, "deposit": self.transfer_deposit.data,
                     "increment": self.transfer_increment.data}
            data["transfer"] = None if None in terms.values() else {
                **terms, "disclosure_days": self.disclosure_days.data or None}
        else:
            data["ask_price"] = self.ask_price.data
        if self.mode.data == "licensing":
            data.update(self.licensing_data())
        return data


class ReasonForm(BaseForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=4000)])


class CommentForm(BaseForm):
    comment = TextAreaField(_l("What should the seller change?"),
                            validators=[DataRequired(), Length(max=4000)])


class ActionForm(BaseForm):
    """A button that changes something: CSRF only."""


class DocumentForm(BaseForm):
    file = FileField(_l("File (PDF, PNG or JPEG)"), validators=[FileRequired()])
    public = BooleanField(_l("Public summary (visible without NDA)"))


class CostForm(BaseForm):
    amount = AmountField(_l("Amount"), validators=[DataRequired()])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=2000)])
