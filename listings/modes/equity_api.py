"""/api/v1 equity offers (API.md "Equity contribution")."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from market.api import API_PREFIX, Blueprint, MoneyField, RateField, api_auth, api_user
from market.db import get_session
from market.errors import Invalid

from .. import services
from . import equity
from .equity_models import CONSIDERATION_TO

blp = Blueprint("equity_api", __name__, url_prefix=API_PREFIX,
                description="Equity contribution (作价入股)")
SECURITY = [{"bearer": []}]


class ShareField(RateField):
    """A fraction of the company in (0, 1], as a decimal string ("0.20")."""

    def _deserialize(self, value, attr, data, **kwargs):
        share = super()._deserialize(value, attr, data, **kwargs)
        if share <= 0:
            raise ValidationError("must be above 0")
        return share


class EquityOfferIn(Schema):
    valuation = MoneyField(required=True)
    share_of_company = ShareField(required=True)


class EquityAcceptIn(Schema):
    consideration_to = fields.String(required=True, validate=validate.OneOf(CONSIDERATION_TO))
    nominee_org_id = fields.Integer(strict=True, allow_none=True)
    registration_no = fields.String(allow_none=True, validate=validate.Length(max=64))


class EquityOfferOut(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    company_org_id = fields.Integer(required=True)
    valuation = MoneyField(required=True)
    share_of_company = RateField(required=True)
    status = fields.String(required=True, metadata={
        "enum": ["pending", "accepted", "rejected", "lapsed"]})
    consideration_to = fields.String(allow_none=True)
    nominee_org_id = fields.Integer(allow_none=True)
    registration_no = fields.String(allow_none=True)
    settlement_id = fields.Integer(allow_none=True)
    equity_asset_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class EquityOfferList(Schema):
    items = fields.List(fields.Nested(EquityOfferOut), required=True)
    total = fields.Integer(required=True)


def _check_accept_body(data: dict) -> None:
    """Body rules (422, before the offer is looked up)."""
    if data["consideration_to"] == "nominee" and not data.get("nominee_org_id"):
        raise Invalid("nominee_required", "name the nominee organisation (nominee_org_id)")
    if data["consideration_to"] == "pledgor" and not (data.get("registration_no") or "").strip():
        raise Invalid("registration_required",
                      "give the share pledge's registration number (民法典 443)")


@blp.post("/listings/<int:listing_id>/equity-offers")
@api_auth("owner", "investor")  # then: only a user of an enterprise organisation
@blp.arguments(EquityOfferIn)
@blp.response(201, EquityOfferOut)
@blp.doc(security=SECURITY)
def make_offer(data, listing_id: int):
    """A company (a user of an `enterprise` organisation, not the seller's or the
    pledgor's) offers shares for the listing's IP."""
    s = get_session()
    listing = services.get_listing(s, api_user(), listing_id, for_update=True)
    offer = equity.make_offer(s, api_user(), listing, valuation=data["valuation"],
                              share_of_company=data["share_of_company"])
    out = equity.offer_dict(offer)
    s.commit()
    return out


@blp.get("/listings/<int:listing_id>/equity-offers")
@api_auth()
@blp.response(200, EquityOfferList)
@blp.doc(security=SECURITY)
def list_offers(listing_id: int):
    """The seller and operators: every offer, side by side; a company: its own."""
    s = get_session()
    listing = services.get_listing(s, api_user(), listing_id)
    rows = equity.offers_of(s, api_user(), listing)
    return {"items": [equity.offer_dict(o) for o in rows], "total": len(rows)}


@blp.get("/equity-offers/<int:offer_id>")
@api_auth()
@blp.response(200, EquityOfferOut)
@blp.doc(security=SECURITY)
def get_offer(offer_id: int):
    s = get_session()
    offer, _listing = equity.get_offer(s, api_user(), offer_id)
    return equity.offer_dict(offer)


@blp.post("/equity-offers/<int:offer_id>/accept")
@api_auth("bank", "owner")
@blp.arguments(EquityAcceptIn)
@blp.response(200, EquityOfferOut)
@blp.doc(security=SECURITY)
def accept(data, offer_id: int):
    """The seller accepts an offer: shares to a nominee (a sale) or to the pledgor
    (replacement collateral)."""
    _check_accept_body(data)
    s = get_session()
    offer, listing = equity.get_offer(s, api_user(), offer_id)
    equity.lock(s, offer, listing)
    equity.accept(s, api_user(), offer, listing, consideration_to=data["consideration_to"],
                  nominee_org_id=data.get("nominee_org_id"),
                  registration_no=(data.get("registration_no") or "").strip() or None)
    out = equity.offer_dict(offer)
    s.commit()
    return out
