"""Request and response schemas of licensing (API.md "Licensing")."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from market.api import MoneyField, RateField

from .licensing_models import KINDS, LICENCE_STATUSES


class LicensingTermsSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    open = fields.Boolean(load_default=False)
    field = fields.String(load_default="", validate=validate.Length(max=200))
    territory = fields.String(load_default="CN", validate=validate.Length(min=1, max=60))
    term_months = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=1200))
    upfront_fee = MoneyField(required=True)
    royalty_rate = RateField(load_default=None)
    minimum_annual_royalty = MoneyField(load_default=None)


CONSENT_REF = {"allow_none": True, "validate": validate.Length(max=200)}


class LicenceApplySchema(Schema):
    """`{}`: the applicant accepts the listing's published terms."""


class LicenceRejectSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class LicenceSchema(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    asset_ids = fields.List(fields.Integer(), required=True)
    licensee_org_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    open = fields.Boolean(required=True)
    field = fields.String(required=True)
    territory = fields.String(required=True)
    term_months = fields.Integer(required=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    upfront_fee = MoneyField(required=True)
    royalty_rate = RateField(required=True)
    minimum_annual_royalty = MoneyField(required=True)
    status = fields.String(required=True, metadata={"enum": list(LICENCE_STATUSES)})
    paid_total = MoneyField(required=True)
    applied_to_loan = MoneyField(required=True)
    paid_to_owner = MoneyField(required=True)


# API.md Conventions: a date before 1990-01-01 or after 2199-12-31 is 422.
DATE_RANGE = validate.Range(min=dt.date(1990, 1, 1), max=dt.date(2199, 12, 31))


class RoyaltyReportIn(Schema):
    period_start = fields.Date(required=True, validate=DATE_RANGE)
    period_end = fields.Date(required=True, validate=DATE_RANGE)
    net_sales = MoneyField(required=True)
    method = fields.String(load_default="offline", validate=validate.OneOf(["offline", "stripe"]))


class RoyaltyPaymentOut(Schema):
    id = fields.Integer(required=True)
    amount = MoneyField(required=True)
    status = fields.String(required=True)
    reference = fields.String(required=True)


class RoyaltyReportOut(Schema):
    id = fields.Integer(required=True)
    licence_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["report", "minimum"]})
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    net_sales = MoneyField(allow_none=True)
    royalty = MoneyField(required=True)
    payment = fields.Nested(RoyaltyPaymentOut, allow_none=True)


class LicenceRegisterQuery(Schema):
    registry_no = fields.String(load_default=None, validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1))


class LicenceRegisterEntry(Schema):
    registry_no = fields.String(required=True)
    kind = fields.String(required=True)
    licensor = fields.String(required=True)
    licensee = fields.String(required=True)
    field = fields.String(required=True)
    territory = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
