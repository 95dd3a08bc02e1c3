"""Web forms for assets and valuations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import AmountField, BaseForm
from .labels import KIND_LABELS, LEGAL_LABELS, METHOD_LABELS


class AssetForm(BaseForm):
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    registry_no = StringField(_l("Registry number"), validators=[DataRequired(), Length(max=64)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    owner_org_id = SelectField(_l("Owner"), coerce=int, validators=[InputRequired()])
    jurisdiction = StringField(_l("Jurisdiction"), default="CN",
                               validators=[DataRequired(), Length(min=2, max=8)])
    classification = StringField(_l("Classification (IPC / Nice / Locarno)"),
                                 validators=[Optional(), Length(max=120)])
    legal_status = SelectField(_l("Legal status"), choices=list(LEGAL_LABELS.items()))
    expires_on = DateField(_l("Expires on"), validators=[InputRequired()])
    next_fee_due_on = DateField(_l("Next annuity / renewal due"), validators=[Optional()])
    abstract = TextAreaField(_l("Abstract"), validators=[Optional(), Length(max=5000)])


class ValuationForm(BaseForm):
    amount = AmountField(_l("Value"), validators=[InputRequired()])
    valued_on = DateField(_l("Valued on"), validators=[InputRequired()])
    method = SelectField(_l("Method"), choices=list(METHOD_LABELS.items()))
    agency = StringField(_l("Appraisal agency"), validators=[DataRequired(), Length(max=200)])
    valid_until = DateField(_l("Valid until (default: one year)"), validators=[Optional()])


class StatusForm(BaseForm):
    legal_status = SelectField(_l("Legal status"), choices=list(LEGAL_LABELS.items()))
    expires_on = DateField(_l("Expires on"), validators=[InputRequired()])
    next_fee_due_on = DateField(_l("Next annuity / renewal due"), validators=[Optional()])


class ConsentForm(BaseForm):
    consent_ref = StringField(_l("Consent document reference"),
                              validators=[Optional(), Length(max=120)])
