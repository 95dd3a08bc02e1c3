"""Web forms of the loan book."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (DateField, FieldList, Form, FormField, SelectField,
                     SelectMultipleField, StringField, TextAreaField, widgets)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import AmountField, BaseForm


class ShareRow(Form):
    org_id = SelectField(_l("Risk-sharing party"), coerce=int, validate_choice=False,
                         default=0)
    share = StringField(_l("Share"), validators=[Optional(), Length(max=12)])
    cap = AmountField(_l("Cap"), validators=[Optional()])


class LoanForm(BaseForm):
    borrower_org_id = SelectField(_l("Borrower (pledgor)"), coerce=int,
                                  validators=[InputRequired()])
    reference = StringField(_l("Bank's loan number"), validators=[Optional(), Length(max=64)])
    principal = AmountField(_l("Principal"), validators=[InputRequired()])
    annual_rate = StringField(_l("Annual rate"), default="0.0435",
                              validators=[DataRequired(), Length(max=14)])
    penalty_rate = StringField(_l("Penalty rate"), default="0.06525",
                               validators=[DataRequired(), Length(max=14)])
    disbursed_on = DateField(_l("Disbursed on"), validators=[InputRequired()])
    maturity_on = DateField(_l("Maturity"), validators=[InputRequired()])
    asset_ids = SelectMultipleField(_l("Pledged assets"), coerce=int,
                                    widget=widgets.ListWidget(prefix_label=False),
                                    option_widget=widgets.CheckboxInput(),
                                    validators=[DataRequired()])
    registration_no = StringField(_l("Pledge registration number"),
                                  validators=[DataRequired(), Length(max=64)])
    registered_on = DateField(_l("Registered on"), validators=[InputRequired()])
    shares = FieldList(FormField(ShareRow), min_entries=3, max_entries=5)


class RepaymentForm(BaseForm):
    amount = AmountField(_l("Amount"), validators=[InputRequired()])
    paid_on = DateField(_l("Paid on"), validators=[InputRequired()])


class CostForm(BaseForm):
    amount = AmountField(_l("Amount"), validators=[InputRequired()])
    incurred_on = DateField(_l("Incurred on"), validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=2000)])


class DefaultForm(BaseForm):
    declared_on = DateField(_l("Declared on"), validators=[InputRequired()])


class AgreedValuationForm(BaseForm):
    value = AmountField(_l("Agreed value"), validators=[InputRequired()])
    agreed_on = DateField(_l("Agreed on"), validators=[InputRequired()])
    pledgor_consent_ref = StringField(_l("Pledgor's consent (reference)"),
                                      validators=[DataRequired(), Length(max=200)])
