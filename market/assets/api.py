"""/api/v1/assets: registering IP assets and their valuations (banks and owners)."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..api import (API_PREFIX, Blueprint, ErrorSchema, MoneyField, PageArgs, api_auth, api_user,
                   page_schema, paginate)
from ..db import get_session
from ..errors import Forbidden, NotFound
from ..timeutil import business_date, utcnow
from . import access, services
from .access import Right
from .models import (ASSET_KINDS, LEGAL_STATUSES, NO_EXPIRY_KINDS, VALUATION_METHODS, Asset,
                     Valuation)

blp = Blueprint("assets_api", __name__, url_prefix=API_PREFIX, description="IP assets")
SECURITY = [{"bearer": []}]


class ContractErrorSchema(ErrorSchema):
    """{"error": {"code", "message"}} (named apart from flask-smorest's own "Error")."""


def errors(bp, *codes: int):
    """Document the error body for these statuses (the contract's {"error": {...}})."""
    def deco(view):
        for code in codes:
            view = bp.alt_response(code, schema=ContractErrorSchema, description="error")(view)
        return view
    return deco


class AssetIn(Schema):
    # Equity interests are made by the exchange (an accepted equity offer), not registered.
    kind = fields.String(required=True, validate=validate.OneOf(
        [k for k in ASSET_KINDS if k not in NO_EXPIRY_KINDS]))
    registry_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    owner_org_id = fields.Integer(required=True, strict=True)
    jurisdiction = fields.String(load_default="CN", validate=validate.Length(min=2, max=8))
    expires_on = fields.Date(required=True)
    legal_status = fields.String(load_default="valid", validate=validate.OneOf(LEGAL_STATUSES))
    classification = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Length(max=120))
    abstract = fields.String(load_default=None, allow_none=True)
    filed_on = fields.Date(load_default=None, allow_none=True)
    granted_on = fields.Date(load_default=None, allow_none=True)
    next_fee_due_on = fields.Date(load_default=None, allow_none=True)
    co_owner_org_ids = fields.List(fields.Integer(strict=True), load_default=list)


class ValuationIn(Schema):
    amount = MoneyField(required=True)
    valued_on = fields.Date(required=True)
    method = fields.String(required=True, validate=validate.OneOf(VALUATION_METHODS))
    agency = fields.String(required=True, validate=validate.Length(min=1, max=200))
    valid_until = fields.Date(load_default=None, allow_none=True)


class ValuationOut(Schema):
    id = fields.Integer(required=True)
    asset_id = fields.Integer(required=True)
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    valued_on = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    method = fields.String(required=True)
    agency = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "applied (counts) or proposed (an owner's valuation of a pledged "
                       "asset, counting once the pledgee or an operator applies it)"})


class CoOwnerOut(Schema):
    org_id = fields.Integer(required=True)
    consent_at = fields.DateTime(allow_none=True)
    consent_ref = fields.String(allow_none=True)


class AssetOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    registry_no = fields.String(required=True)
    title = fields.String(required=True)
    owner_org_id = fields.Integer(required=True)
    jurisdiction = fields.String(required=True)
    expires_on = fields.Date(required=True, allow_none=True)
    legal_status = fields.String(required=True)
    classification = fields.String(allow_none=True)
    abstract = fields.String(allow_none=True)
    filed_on = fields.Date(allow_none=True)
    granted_on = fields.Date(allow_none=True)
    next_fee_due_on = fields.Date(allow_none=True)
    co_owners = fields.List(fields.Nested(CoOwnerOut))
    valuations = fields.List(fields.Nested(ValuationOut))
    current_value = MoneyField(allow_none=True, metadata={
        "description": "amount of the latest valuation valid today"})


class AssetQuery(PageArgs):
    registry_no = fields.String(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf(ASSET_KINDS))
    owner_org_id = fields.Integer(load_default=None,
                                  validate=validate.Range(min=1, max=services.MAX_ID))


class ConsentIn(Schema):
    consent_ref = fields.String(load_default="", validate=validate.Length(max=120))


def _today():
    return business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])


def _out(asset: Asset) -> dict:
    """The asset as the caller may see it: proposals only for its parties."""
    s = get_session()
    v = services.valuation_on(s, asset.id, _today())
    valuations = (services.valuations_of(s, asset.id) if access.is_party(api_user(), asset)
                  else asset.valuations)
    return {**{c: getattr(asset, c) for c in AssetOut._declared_fields
               if c not in ("current_value", "valuations")},
            "valuations": valuations, "current_value": v.amount if v else None}


def _visible_asset(asset_id: int) -> Asset:
    """The asset if the caller may see it; 404 otherwise (existence is not revealed)."""
    s = get_session()
    asset = services.get_asset(s, asset_id)
    if not access.may_see(s, api_user(), asset):
        raise NotFound("asset")
    return asset


def _changeable_asset(asset_id: int) -> tuple[Asset, Right]:
    """The asset and the caller's right over it; 404 for anyone without one."""
    s = get_session()
    asset = services.get_asset(s, asset_id)
    right = access.change_right(s, api_user(), asset)
    if right is Right.NONE:
        raise NotFound("asset")
    return asset, right


def _may_register(asset_owner_org_id: int) -> None:
    user = api_user()
    if user.role == "owner" and user.org_id != asset_owner_org_id:
        raise Forbidden("not_owner", "owners manage only their own organisation's assets")


@blp.post("/assets")
@errors(blp, 401, 403, 422, 404, 409)
@api_auth("bank", "owner")
@blp.arguments(AssetIn)
@blp.response(201, AssetOut)
@blp.doc(security=SECURITY)
def create_asset(body):
    """Register an IP asset (409 duplicate_asset for the same kind+jurisdiction+number)."""
    _may_register(body["owner_org_id"])
    s = get_session()
    asset = services.create_asset(s, actor_id=api_user().id, **body)
    s.commit()
    return _out(asset)


@blp.get("/assets")
@errors(blp, 401, 404, 422)
@api_auth()
@blp.arguments(AssetQuery, location="query")
@blp.response(200, page_schema(AssetOut, "AssetPage"))
@blp.doc(security=SECURITY)
def list_assets(args):
    """Assets the caller is a party to, as the asset list page shows them: banks and
    operators all; an owner its own organisation's and those it co-owns."""
    stmt = select(Asset).order_by(Asset.id)
    if args["registry_no"]:
        stmt = stmt.where(Asset.registry_no == args["registry_no"].strip())
    if args["kind"]:
        stmt = stmt.where(Asset.kind == args["kind"])
    if args["owner_org_id"]:
        stmt = stmt.where(Asset.owner_org_id == args["owner_org_id"])
    shown = access.party_clause(api_user())
    if shown is not None:
        stmt = stmt.where(shown)
    page = paginate(get_session(), stmt, args["page"], args["per_page"])
    page["items"] = [_out(a) for a in page["items"]]
    return page


@blp.get("/assets/<int:asset_id>")
@errors(blp, 401, 404, 422)
@api_auth()
@blp.response(200, AssetOut)
@blp.doc(security=SECURITY)
def get_asset(asset_id):
    """An asset the caller may see (as on the asset pages, or shown by a public listing)."""
    return _out(_visible_asset(asset_id))


@blp.post("/assets/<int:asset_id>/valuations")
@errors(blp, 401, 403, 422, 404)
@api_auth("bank", "owner", "operator")
@blp.arguments(ValuationIn)
@blp.response(201, ValuationOut)
@blp.doc(security=SECURITY)
def add_valuation(body, asset_id):
    """An appraisal; valid_until defaults to the validity period (one year) after valued_on.
    The owner's valuation of a pledged asset is `proposed` until applied."""
    s = get_session()
    today = _today()
    services.valuation_period(s, body["valued_on"], body["valid_until"], today)  # 422 first
    _asset, right = _changeable_asset(asset_id)
    status = "proposed" if right is Right.PROPOSE else "applied"
    v = services.add_valuation(s, asset_id, actor_id=api_user().id, status=status, today=today,
                               **body)
    s.commit()
    return v


@blp.post("/valuations/<int:valuation_id>/apply")
@errors(blp, 401, 403, 404, 409)
@api_auth("bank", "owner", "operator")
@blp.response(200, ValuationOut)
@blp.doc(security=SECURITY)
def apply_valuation(valuation_id):
    """The pledgee or an operator applies an owner's proposed valuation: from now on it
    counts (value, floor, LTV). A second apply → 409; anyone else → 404."""
    s = get_session()
    v = services.get_row(s, Valuation, valuation_id)
    if v is None:
        raise NotFound("valuation")
    asset = services.get_asset(s, v.asset_id)
    if access.change_right(s, api_user(), asset) is not Right.CHANGE:
        raise NotFound("valuation")
    services.apply_valuation(s, v, actor_id=api_user().id)
    s.commit()
    return v


@blp.post("/assets/<int:asset_id>/co-owners/<int:org_id>/consent")
@errors(blp, 401, 403, 422, 404)
@api_auth("bank", "owner", "operator")
@blp.arguments(ConsentIn)
@blp.response(200, AssetOut)
@blp.doc(security=SECURITY)
def co_owner_consent(body, asset_id, org_id):
    """Record a co-owner's written consent to pledge the asset: that co-owner or an operator."""
    s = get_session()
    user = api_user()
    asset = services.get_asset(s, asset_id)
    if not access.may_record_consent(user, org_id):
        raise NotFound("co-owner")
    services.record_consent(s, asset_id, org_id, consent_ref=body["consent_ref"],
                            actor_id=user.id)
    s.commit()
    return _out(asset)


class StatusIn(Schema):
    legal_status = fields.String(load_default=None, validate=validate.OneOf(LEGAL_STATUSES))
    expires_on = fields.Date(load_default=None)
    next_fee_due_on = fields.Date(load_default=None)


@blp.post("/assets/<int:asset_id>/legal-status")
@errors(blp, 401, 403, 422, 404)
@api_auth("bank", "owner", "operator")
@blp.arguments(StatusIn)
@blp.response(200, AssetOut)
@blp.doc(security=SECURITY)
def update_legal_status(body, asset_id):
    """Record the asset's legal status, expiry or next annuity/renewal date (monitored)."""
    s = get_session()
    asset, right = _changeable_asset(asset_id)
    if right is not Right.CHANGE:  # the owner of a pledged asset: the pledgee decides
        raise NotFound("asset")
    services.update_legal_status(s, asset_id, actor_id=api_user().id, **body)
    s.commit()
    return _out(asset)
