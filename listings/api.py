"""/api/v1/listings (API.md "Listings")."""
from __future__ import annotations

import datetime as dt

from flask import g
from marshmallow import Schema, fields, validate

from flask import current_app

from market import settings_store
from market.api import (API_PREFIX, Blueprint, MoneyField, PageArgs, RateField, api_auth,
                        api_user, page_schema, paginate)
from market.assets.models import ASSET_KINDS
from market import calendar
from market.db import get_session
from market.errors import NotFound
from market.payments import deposits as payments_deposits
from market.payments.api import DepositIn, DepositOut
from market.payments.gateway import check_card_limit

from . import services
from .modes import equity_terms, transfer
from .browse import SORTS, Filters, listing_stmt
from .lifecycle import history
from .models import MODES, STATUSES, Listing
from .modes import licensing
from .modes.licensing_schemas import CONSENT_REF, LicensingTermsSchema

blp = Blueprint("listings_api", __name__, url_prefix=API_PREFIX, description="Listings")
SECURITY = [{"bearer": []}]
UTC = dt.timezone.utc


# ---------------------------------------------------------------- schemas

class ListingBackstopSchema(Schema):
    org_id = fields.Integer(required=True, strict=True)
    price = MoneyField(required=True)


class ListingAuctionTermsSchema(Schema):
    start_price = MoneyField(required=True)
    increment = MoneyField(required=True)
    deposit = MoneyField(required=True)
    starts_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    ends_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    reserve_price = MoneyField(allow_none=True)
    allow_proxy = fields.Boolean(load_default=False)
    # Left out: the operator's soft-close defaults (settings; 300 until changed).
    extension_window_s = fields.Integer(strict=True,
                                        validate=validate.Range(min=1, max=86400 * 30))
    extension_s = fields.Integer(strict=True, validate=validate.Range(min=1, max=86400 * 30))
    backstop = fields.Nested(ListingBackstopSchema, allow_none=True)
    reauction_cut = RateField(allow_none=True)


class ListingEquityTermsSchema(Schema):
    min_valuation = MoneyField(required=True)


class ListingTransferTermsSchema(Schema):
    list_price = MoneyField(required=True)
    deposit = MoneyField(required=True)
    increment = MoneyField(required=True)
    # Left out: the rule (10 working days, 20 above 10,000,000.00; operator settings).
    disclosure_days = fields.Integer(strict=True, allow_none=True,
                                     validate=validate.Range(min=1, max=calendar.MAX_DAYS))
    auction_seconds = fields.Integer(strict=True, load_default=86400,
                                     validate=validate.Range(min=1, max=86400 * 30))


class ListingTransferOut(Schema):
    list_price = MoneyField(required=True)
    deposit = MoneyField(required=True)
    increment = MoneyField(required=True)
    disclosure_days = fields.Integer(required=True)
    auction_seconds = fields.Integer(required=True)
    disclosure_ends_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)


class ListingCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(allow_none=True, validate=validate.Length(max=20000))
    asset_ids = fields.List(fields.Integer(strict=True), required=True,
                            validate=validate.Length(min=1, max=50))
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    loan_id = fields.Integer(strict=True, allow_none=True)
    auction = fields.Nested(ListingAuctionTermsSchema, allow_none=True)
    equity = fields.Nested(ListingEquityTermsSchema, allow_none=True)
    transfer = fields.Nested(ListingTransferTermsSchema, allow_none=True)
    ask_price = MoneyField(allow_none=True)
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))
    licensing = fields.Nested(LicensingTermsSchema, allow_none=True)
    pledgor_consent_ref = fields.String(**CONSENT_REF)
    pledgee_consent_ref = fields.String(**CONSENT_REF)


class ListingUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=300))
    description = fields.String(allow_none=True, validate=validate.Length(max=20000))
    asset_ids = fields.List(fields.Integer(strict=True), validate=validate.Length(min=1, max=50))
    mode = fields.String(validate=validate.OneOf(MODES))
    loan_id = fields.Integer(strict=True, allow_none=True)
    auction = fields.Nested(ListingAuctionTermsSchema, allow_none=True)
    equity = fields.Nested(ListingEquityTermsSchema, allow_none=True)
    transfer = fields.Nested(ListingTransferTermsSchema, allow_none=True)
    ask_price = MoneyField(allow_none=True)
    licensing = fields.Nested(LicensingTermsSchema, allow_none=True)
    pledgor_consent_ref = fields.String(**CONSENT_REF)
    pledgee_consent_ref = fields.String(**CONSENT_REF)


class ListingAssetOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    registry_no = fields.String(required=True)
    title = fields.String(required=True)
    classification = fields.String(allow_none=True)
    legal_status = fields.String(required=True)
    expires_on = fields.Date(required=True, allow_none=True)
    owner_org_id = fields.Integer(required=True)


class ListingBackstopOut(ListingBackstopSchema):
    accepted_at = fields.AwareDateTime(allow_none=True)


class ListingAuctionTermsOut(ListingAuctionTermsSchema):
    backstop = fields.Nested(ListingBackstopOut, allow_none=True)
    requested_starts_at = fields.AwareDateTime(allow_none=True)


class ListingSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    mode = fields.String(required=True)
    status = fields.String(required=True)
    asset_ids = fields.List(fields.Integer(), required=True)
    loan_id = fields.Integer(allow_none=True)
    auction = fields.Nested(ListingAuctionTermsOut, allow_none=True)
    equity = fields.Nested(ListingEquityTermsSchema, allow_none=True)
    transfer = fields.Nested(ListingTransferOut, allow_none=True)
    ask_price = MoneyField(allow_none=True)
    currency = fields.String(required=True)
    auction_id = fields.Integer(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    review_comment = fields.String(allow_none=True)
    seller_org_id = fields.Integer(required=True)
    created_by = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    published_at = fields.AwareDateTime(allow_none=True)
    assets = fields.List(fields.Nested(ListingAssetOut), required=True)
    licensing = fields.Nested(LicensingTermsSchema, allow_none=True)
    pledgor_consent_ref = fields.String(allow_none=True)
    pledgee_consent_ref = fields.String(allow_none=True)


class ListingQuery(PageArgs):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    mode = fields.String(load_default=None, validate=validate.OneOf(MODES))
    kind = fields.String(load_default=None, validate=validate.OneOf(ASSET_KINDS))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    classification = fields.String(load_default=None, validate=validate.Length(max=60))
    min_price = MoneyField(load_default=None)
    max_price = MoneyField(load_default=None)
    closing_within_h = fields.Integer(load_default=None, validate=validate.Range(min=1, max=24 * 90))
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS))
    mine = fields.Boolean(load_default=False)


class ListingReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ListingCommentSchema(Schema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ListingWithdrawSchema(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=4000))


class ListingCostIn(Schema):
    amount = MoneyField(required=True)
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ListingCostOut(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    description = fields.String(required=True)
    created_by = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime(required=True)


class ListingCostList(Schema):
    items = fields.List(fields.Nested(ListingCostOut), required=True)
    total = fields.Integer(required=True)
    total_amount = MoneyField(required=True)


class ListingTransitionOut(Schema):
    from_status = fields.String(required=True)
    to_status = fields.String(required=True)
    actor_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    at = fields.AwareDateTime(required=True)


class ListingTransitionList(Schema):
    items = fields.List(fields.Nested(ListingTransitionOut), required=True)
    total = fields.Integer(required=True)


# ---------------------------------------------------------------- rendering

def _max_cut(session):
    """The operator's maximum re-auction cut, read once per request (a page of listings)."""
    if "reauction_max_cut" not in g:
        g.reauction_max_cut = settings_store.get(session, "reauction_max_cut")
    return g.reauction_max_cut


def listing_dict(session, listing: Listing, assets=None) -> dict:
    if assets is None:
        assets = services.listing_assets(session, listing)
    auction = None
    if listing.mode == "auction" and listing.start_price is not None:
        auction = {f: getattr(listing, f) for f in services.AUCTION_FIELDS}
        auction["backstop"] = ({"org_id": listing.backstop_org_id, "price": listing.backstop_price}
                               if listing.backstop_org_id else None)
        if listing.backstop_org_id and listing.backstop_accepted_at is not None:
            auction["backstop"]["accepted_at"] = listing.backstop_accepted_at
        auction["requested_starts_at"] = listing.requested_starts_at
        if listing.reauction_cut is None:  # the default is the operator's maximum
            auction["reauction_cut"] = _max_cut(session)
    # The exchange's words to the seller stay between them, after publication too.
    viewer = api_user()
    between = viewer is not None and (viewer.role == "operator"
                                      or services.is_seller(viewer, listing))
    return {
        "id": listing.id, "title": listing.title, "description": listing.description,
        "mode": listing.mode, "status": listing.status,
        "asset_ids": [la.asset_id for la in listing.assets], "loan_id": listing.loan_id,
        "auction": auction, "transfer": transfer.terms_dict(session, listing),
        "ask_price": listing.ask_price, "currency": listing.currency,
        "auction_id": listing.auction_id,
        "reject_reason": listing.reject_reason if between else None,
        "review_comment": listing.review_comment if between else None, "seller_org_id": listing.seller_org_id,
        "created_by": listing.created_by, "created_at": listing.created_at,
        "updated_at": listing.updated_at, "published_at": listing.published_at,
        "assets": [{"id": a.id, "kind": a.kind, "registry_no": a.registry_no, "title": a.title,
                    "classification": a.classification, "legal_status": a.legal_status,
                    "expires_on": a.expires_on, "owner_org_id": a.owner_org_id} for a in assets],
        **equity_terms.listing_fields(session, listing),
        **licensing.terms_dict(session, listing),
    }


def _commit_and_render(s, listing):
    body = listing_dict(s, listing)
    s.commit()
    return body


# ---------------------------------------------------------------- endpoints

@blp.post("/listings")
@api_auth("bank", "owner")
@blp.arguments(ListingCreateSchema)
@blp.response(201, ListingSchema)
@blp.doc(security=SECURITY)
def create(data):
    s = get_session()
    listing = services.create_listing(s, api_user(), data)
    return _commit_and_render(s, listing)


@blp.get("/listings")
@api_auth(optional=True)
@blp.arguments(ListingQuery, location="query")
@blp.response(200, page_schema(ListingSchema, "ListingPage"))
def list_listings(args):
    s = get_session()
    f = Filters(q=args["q"], mode=args["mode"], kind=args["kind"], status=args["status"],
                classification=args["classification"], min_price=args["min_price"],
                max_price=args["max_price"], closing_within_h=args["closing_within_h"],
                sort=args["sort"], mine=args["mine"])
    page = paginate(s, listing_stmt(s, api_user(), f), args["page"], args["per_page"])
    assets = services.assets_by_listing(s, page["items"])  # one query for the whole page
    page["items"] = [listing_dict(s, lst, assets.get(lst.id, [])) for lst in page["items"]]
    return page


@blp.get("/listings/<int:listing_id>")
@api_auth(optional=True)
@blp.response(200, ListingSchema)
def get_one(listing_id: int):
    s = get_session()
    return listing_dict(s, services.get_listing(s, api_user(), listing_id))


@blp.patch("/listings/<int:listing_id>")
@api_auth("bank", "owner")
@blp.arguments(ListingUpdateSchema)
@blp.response(200, ListingSchema)
@blp.doc(security=SECURITY)
def update(data, listing_id: int):
    s = get_session()
    listing = services.get_listing(s, api_user(), listing_id, for_update=True)
    services.update_listing(s, api_user(), listing, data)
    return _commit_and_render(s, listing)


def _ordered(name, roles, schema, action):
    """Register with auth outermost (401 → 403 → 422 → 404 → 409)."""

    def inner(data=None, listing_id: int = 0):
        s = get_session()
        listing = services.get_listing(s, api_user(), listing_id, for_update=True)
        action(s, api_user(), listing, data or {})
        return _commit_and_render(s, listing)

    inner.__name__ = name.replace("-", "_")
    inner.__doc__ = f"POST /listings/{{id}}/{name}"
    view = blp.response(200, ListingSchema)(inner)
    if schema is not None:
        view = blp.arguments(schema)(view)
    view = api_auth(*roles)(view)
    view = blp.doc(security=SECURITY)(view)
    blp.route(f"/listings/<int:listing_id>/{name}", methods=["POST"])(view)


_ordered("submit", ("bank", "owner"), None, lambda s, u, lst, d: services.submit(s, u, lst))
_ordered("approve", ("operator",), None, lambda s, u, lst, d: services.approve(s, u, lst))
_ordered("reject", ("operator",), ListingReasonSchema,
         lambda s, u, lst, d: services.reject(s, u, lst, d["reason"]))
_ordered("request-changes", ("operator",), ListingCommentSchema,
         lambda s, u, lst, d: services.request_changes(s, u, lst, d["comment"]))
_ordered("withdraw", ("bank", "owner"), ListingWithdrawSchema,
         lambda s, u, lst, d: services.withdraw(s, u, lst, d.get("reason")))
_ordered("unpublish", ("operator",), ListingReasonSchema,
         lambda s, u, lst, d: services.unpublish(s, u, lst, d["reason"]))


@blp.post("/listings/<int:listing_id>/backstop/accept")
@api_auth()
@blp.response(200, ListingSchema)
@blp.doc(security=SECURITY)
def accept_backstop(listing_id: int):
    """A user of the backstop fund, whatever its role, accepts the commitment (托底式收购)."""
    s = get_session()
    listing = services.accept_backstop(s, api_user(), listing_id)
    return _commit_and_render(s, listing)


class ListingRelistSchema(Schema):
    list_price = MoneyField(required=True)
    deposit = MoneyField(allow_none=True)
    disclosure_days = fields.Integer(strict=True, allow_none=True,
                                     validate=validate.Range(min=1, max=calendar.MAX_DAYS))


_ordered("relist", ("bank", "owner"), ListingRelistSchema,
         lambda s, u, lst, d: transfer.relist(s, u, lst, d))


@blp.post("/listings/<int:listing_id>/deposits")
@api_auth("investor")
@blp.arguments(DepositIn)
@blp.response(201, DepositOut)
@blp.doc(security=SECURITY)
def register_deposit(data, listing_id: int):
    """Register for a listed transfer with a deposit (during the disclosure period)."""
    s = get_session()
    config = current_app.config
    payments_deposits.check_method(data["method"], config)
    listing = services.get_listing(s, api_user(), listing_id, for_update=True)
    dep = transfer.register(s, api_user(), listing, data["method"])
    if data["method"] == "stripe":
        check_card_limit(dep.amount, config)  # refused: the error handler rolls back
    s.commit()
    if data["method"] != "stripe":
        return payments_deposits.deposit_dict(dep)
    return payments_deposits.hold_by_card(s, config, dep)


def _cost_dict(c, currency):
    return {"id": c.id, "listing_id": c.listing_id, "amount": c.amount, "currency": currency,
            "description": c.description, "created_by": c.created_by, "created_at": c.created_at}


@blp.post("/listings/<int:listing_id>/costs")
@api_auth("bank", "operator")
@blp.arguments(ListingCostIn)
@blp.response(201, ListingCostOut)
@blp.doc(security=SECURITY)
def add_cost(data, listing_id: int):
    s = get_session()
    listing = services.get_listing(s, api_user(), listing_id, for_update=True)
    cost = services.add_cost(s, api_user(), listing, data["amount"], data["description"])
    body = _cost_dict(cost, listing.currency)
    s.commit()
    return body


@blp.get("/listings/<int:listing_id>/costs")
@api_auth("bank", "operator")
@blp.response(200, ListingCostList)
@blp.doc(security=SECURITY)
def list_costs(listing_id: int):
    s = get_session()
    user = api_user()
    listing = services.get_listing(s, user, listing_id)
    if user.role == "bank" and user.org_id != listing.seller_org_id:
        raise NotFound("listing")
    rows = services.costs_of(s, listing.id)
    return {"items": [_cost_dict(c, listing.currency) for c in rows], "total": len(rows),
            "total_amount": services.disposal_costs_total(s, listing.id)}


@blp.get("/listings/<int:listing_id>/transitions")
@api_auth("bank", "owner", "operator")
@blp.response(200, ListingTransitionList)
@blp.doc(security=SECURITY)
def transitions(listing_id: int):
    s = get_session()
    user = api_user()
    listing = services.get_listing(s, user, listing_id)
    if user.role != "operator" and not services.is_seller(user, listing):
        raise NotFound("listing")
    rows = history(s, listing.id)
    return {"items": rows, "total": len(rows)}


class PriorityHolderIn(Schema):
    org_id = fields.Integer(required=True, validate=validate.Range(min=1))
    rank = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    basis = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PriorityHolderOut(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    org_id = fields.Integer(required=True)
    rank = fields.Integer(required=True)
    basis = fields.String(required=True)
    registered_at = fields.AwareDateTime(required=True)


@blp.post("/listings/<int:listing_id>/priority-holders")
@api_auth("operator")
@blp.arguments(PriorityHolderIn)
@blp.response(201, PriorityHolderOut)
@blp.doc(security=SECURITY)
def register_priority_holder(data, listing_id: int):
    """Operator: register a holder of a priority right (优先购买权) and its rank."""
    s = get_session()
    listing = services.get_listing(s, api_user(), listing_id, for_update=True)
    holder = services.register_priority_holder(s, api_user(), listing, org_id=data["org_id"],
                                               rank=data["rank"], basis=data["basis"])
    body = {"id": holder.id, "listing_id": holder.listing_id, "org_id": holder.org_id,
            "rank": holder.rank, "basis": holder.basis, "registered_at": holder.registered_at}
    s.commit()
    return body
