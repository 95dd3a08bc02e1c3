"""/api/v1 licensing endpoints (API.md "Licensing"): applications, decisions, payment
of the upfront fee, reading a licence, the public licence register."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from market.api import API_PREFIX, Blueprint, api_auth, api_user, page_schema
from market.db import get_session
from market.payments import services as payment_services
from market.payments.api import PaymentRequest, PaymentSchema, commit_and_charge
from market.payments.gateway import gateway_for

from .. import services as listing_services
from . import licensing, royalties
from .licensing_schemas import (LicenceApplySchema, LicenceRegisterEntry, LicenceRegisterQuery,
                                LicenceRejectSchema, LicenceSchema, RoyaltyReportIn,
                                RoyaltyReportOut)

blp = Blueprint("licensing_api", __name__, url_prefix=API_PREFIX, description="Licensing")
SECURITY = [{"bearer": []}]


@blp.post("/listings/<int:listing_id>/licences")
@api_auth("investor", "owner")
@blp.arguments(LicenceApplySchema)
@blp.response(201, LicenceSchema)
@blp.doc(security=SECURITY)
def apply_for_licence(_data, listing_id: int):
    """Apply for a licence on the published terms (an open licence is payable at once)."""
    s = get_session()
    listing = listing_services.get_listing(s, api_user(), listing_id, for_update=True)
    licence = licensing.apply(s, api_user(), listing)
    body = licensing.licence_dict(licence, listing)
    s.commit()
    return body


@blp.get("/licences/<int:licence_id>")
@api_auth()
@blp.response(200, LicenceSchema)
@blp.doc(security=SECURITY)
def get_licence(licence_id: int):
    s = get_session()
    licence, listing = licensing.get_licence(s, api_user(), licence_id)
    return licensing.licence_dict(licence, listing)


def _decide(licence_id: int, act) -> dict:
    s = get_session()
    licence, listing = licensing.get_licence(s, api_user(), licence_id, lock=True)
    act(s, licence, listing)
    body = licensing.licence_dict(licence, listing)
    s.commit()
    return body


@blp.post("/licences/<int:licence_id>/accept")
@api_auth("bank", "owner")
@blp.response(200, LicenceSchema)
@blp.doc(security=SECURITY)
def accept_licence(licence_id: int):
    """The seller accepts an application: the licence is payable."""
    return _decide(licence_id, lambda s, lic, lst: licensing.accept(s, api_user(), lic, lst))


@blp.post("/licences/<int:licence_id>/reject")
@api_auth("bank", "owner")
@blp.arguments(LicenceRejectSchema)
@blp.response(200, LicenceSchema)
@blp.doc(security=SECURITY)
def reject_licence(data, licence_id: int):
    return _decide(licence_id, lambda s, lic, lst: licensing.reject(s, api_user(), lic, lst,
                                                                    data["reason"]))


def _licensee_payment(licence_id: int, method: str):
    """The session, the method's gateway (422 method_unavailable first) and the licence."""
    s = get_session()
    gateway = gateway_for(method, current_app.config)
    licence, _listing = licensing.get_licence(s, api_user(), licence_id, lock=True)
    return s, gateway, licence


@blp.post("/licences/<int:licence_id>/payments")
@api_auth("investor", "owner")
@blp.arguments(PaymentRequest)
@blp.response(201, PaymentSchema)
@blp.doc(security=SECURITY)
def pay_licence(args, licence_id: int):
    """The licensee pays the upfront fee (offline: an operator confirms; stripe: webhook)."""
    s, gateway, licence = _licensee_payment(licence_id, args["method"])
    p = licensing.start_payment(s, api_user(), licence, args["method"])
    return payment_services.as_dict(commit_and_charge(s, p, gateway))


@blp.post("/licences/<int:licence_id>/royalty-reports")
@api_auth("investor", "owner")
@blp.arguments(RoyaltyReportIn)
@blp.response(201, RoyaltyReportOut)
@blp.doc(security=SECURITY)
def report_royalties(data, licence_id: int):
    """The licensee reports net sales for a period; the royalty is billed at once."""
    s, gateway, licence = _licensee_payment(licence_id, data["method"])
    rep, p = royalties.report(s, api_user(), licence, period_start=data["period_start"],
                              period_end=data["period_end"], net_sales=data["net_sales"],
                              method=data["method"])
    if p is None:
        body = royalties.report_dict(rep, None)
        s.commit()
        return body
    return royalties.report_dict(rep, commit_and_charge(s, p, gateway))


@blp.get("/registry/licences")
@api_auth(optional=True)
@blp.arguments(LicenceRegisterQuery, location="query")
@blp.response(200, page_schema(LicenceRegisterEntry, "LicenceRegisterPage"))
def licence_register(args):
    """The public licence register: licences in force, by asset registry number."""
    s = get_session()
    stmt = licensing.register_stmt(args["registry_no"])
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    per_page = min(args["per_page"], 100)
    rows = s.execute(stmt.limit(per_page).offset((args["page"] - 1) * per_page)).all()
    return {"items": [dict(r._mapping) for r in rows], "total": total, "page": args["page"],
            "per_page": per_page}
