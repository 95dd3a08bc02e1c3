"""/api/v1/loans (banks' loan book) and the public pledge register."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from ..accounts.models import Org
from ..api import (API_PREFIX, Blueprint, MoneyField, PageArgs, RateField, api_auth, api_user,
                   page_schema, paginate)
from ..assets.api import errors
from ..assets.models import ASSET_KINDS, Asset
from ..db import get_session
from ..timeutil import business_date, utcnow
from . import services
from .claims import claim_as_of
from .models import LOAN_STATUSES, PLEDGE_STATUSES, Loan, LoanFlag, Pledge, PledgeAsset

blp = Blueprint("lending_api", __name__, url_prefix=API_PREFIX, description="Loans and pledges")
register_blp = Blueprint("register_api", __name__, url_prefix=API_PREFIX,
                         description="Public pledge register")
SECURITY = [{"bearer": []}]


def today():
    return business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])


# --- schemas --------------------------------------------------------------------------

class PledgeIn(Schema):
    asset_ids = fields.List(fields.Integer(strict=True), required=True,
                            validate=validate.Length(min=1, max=50))
    registration_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    registered_on = fields.Date(required=True)


class RiskShareIn(Schema):
    org_id = fields.Integer(required=True, strict=True)
    share = RateField(required=True)
    cap = MoneyField(load_default=None, allow_none=True)


class JsonBoolean(fields.Boolean):
    """A JSON true or false only: "yes", 1 or "true" are a wrong type (422)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class LoanIn(Schema):
    borrower_org_id = fields.Integer(required=True, strict=True)
    principal = MoneyField(required=True)
    annual_rate = RateField(required=True)
    penalty_rate = RateField(required=True)
    disbursed_on = fields.Date(required=True)
    maturity_on = fields.Date(required=True)
    pledge = fields.Nested(PledgeIn, required=True)
    risk_shares = fields.List(fields.Nested(RiskShareIn), load_default=list)
    reference = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(max=64))
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))
    first_loan = JsonBoolean(load_default=False)  # 首贷户


class PledgeOut(Schema):
    id = fields.Integer(required=True)
    registration_no = fields.String(required=True)
    registered_on = fields.Date(required=True)
    status = fields.String(required=True)
    released_on = fields.Date(allow_none=True)
    enforced_on = fields.Date(allow_none=True)
    asset_ids = fields.List(fields.Integer(), required=True)


class RiskShareOut(Schema):
    org_id = fields.Integer(required=True)
    share = RateField(required=True)
    cap = MoneyField(allow_none=True)
    # What the party owes and has paid (API.md "Oversight and reports": risk shares).
    id = fields.Integer(required=True)
    loan_id = fields.Integer(required=True)
    amount_due = MoneyField(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("open", "due", "paid")))
    paid_on = fields.Date(allow_none=True)
    reference = fields.String(allow_none=True)


class FlagOut(Schema):
    kind = fields.String(required=True)
    detail = fields.String(required=True)
    raised_at = fields.DateTime(required=True)
    asset_id = fields.Integer(allow_none=True)


class ClaimOut(Schema):
    costs = MoneyField(required=True)
    penalty_interest = MoneyField(required=True)
    interest = MoneyField(required=True)
    principal = MoneyField(required=True)
    total = MoneyField(required=True)
    as_of = fields.Date(required=True)
    currency = fields.String(required=True)


class LoanOut(Schema):
    id = fields.Integer(required=True)
    bank_org_id = fields.Integer(required=True)
    borrower_org_id = fields.Integer(required=True)
    principal = MoneyField(required=True)
    currency = fields.String(required=True)
    annual_rate = RateField(required=True)
    penalty_rate = RateField(required=True)
    disbursed_on = fields.Date(required=True)
    maturity_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(LOAN_STATUSES))
    defaulted_on = fields.Date(allow_none=True)
    settled_on = fields.Date(allow_none=True)
    reference = fields.String(allow_none=True)
    first_loan = fields.Boolean(required=True)
    pledge = fields.Nested(PledgeOut, allow_none=True)
    risk_shares = fields.List(fields.Nested(RiskShareOut), required=True)
    flags = fields.List(fields.Nested(FlagOut), required=True)


class LoanQuery(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(LOAN_STATUSES))
    borrower_org_id = fields.Integer(load_default=None,
                                     validate=validate.Range(min=1, max=2**31 - 1))


class CostIn(Schema):
    amount = MoneyField(required=True)
    incurred_on = fields.Date(required=True)
    description = fields.String(required=True, validate=validate.Length(max=2000))


class RepaymentIn(Schema):
    amount = MoneyField(required=True)
    paid_on = fields.Date(required=True)


class DefaultIn(Schema):
    declared_on = fields.Date(required=True)


class EventOut(Schema):
    id = fields.Integer(required=True)
    loan_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    amount = MoneyField(required=True)
    currency = fields.String(required=True)
    on_date = fields.Date(required=True)
    description = fields.String(required=True)
    claim = fields.Nested(ClaimOut, required=True,
                          metadata={"description": "claim outstanding on on_date, after it"})


class ClaimQuery(Schema):
    as_of = fields.Date(load_default=None)


class RegisterQuery(PageArgs):
    registry_no = fields.String(load_default=None)
    pledgor = fields.String(load_default=None)
    pledgee = fields.String(load_default=None)
    registration_no = fields.String(load_default=None)


class RegisterEntry(Schema):
    registration_no = fields.String(required=True)
    registry_no = fields.String(required=True)
    asset_kind = fields.String(required=True, validate=validate.OneOf(ASSET_KINDS))
    asset_title = fields.String(required=True)
    classification = fields.String(allow_none=True)
    pledgor = fields.String(required=True)
    pledgee = fields.String(required=True)
    registered_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(PLEDGE_STATUSES))
    changed_on = fields.Date(allow_none=True, metadata={
        "description": "date of release or enforcement, if any"})


# --- helpers --------------------------------------------------------------------------

def open_flags(session, loan_id: int) -> list[LoanFlag]:
    return list(session.scalars(select(LoanFlag).where(LoanFlag.loan_id == loan_id,
                                                       LoanFlag.cleared_at.is_(None))
                                .order_by(LoanFlag.id)))


def loan_out(session, loan: Loan) -> dict:
    pledge = loan.pledge
    return {
        **{c: getattr(loan, c) for c in (
            "id", "bank_org_id", "borrower_org_id", "principal", "currency", "annual_rate",
            "penalty_rate", "disbursed_on", "maturity_on", "status", "defaulted_on",
            "settled_on", "reference", "first_loan", "risk_shares")},
        "pledge": None if pledge is None else {
            "id": pledge.id, "registration_no": pledge.registration_no,
            "registered_on": pledge.registered_on, "status": pledge.status,
            "released_on": pledge.released_on, "enforced_on": pledge.enforced_on,
            "asset_ids": [i.asset_id for i in sorted(pledge.items, key=lambda i: i.id)]},
        "flags": open_flags(session, loan.id),
    }


def claim_out(claim, as_of, currency="CNY") -> dict:
    return {**claim.as_dict(), "as_of": as_of, "currency": currency}


def _event_out(session, loan: Loan, ev) -> dict:
    claim = claim_as_of(loan, services.events_of(session, loan.id), ev.on_date)
    return {"id": ev.id, "loan_id": loan.id, "kind": ev.kind, "amount": ev.amount,
            "currency": loan.currency, "on_date": ev.on_date, "description": ev.description,
            "claim": claim_out(claim, ev.on_date, loan.currency)}


# --- loans ----------------------------------------------------------------------------

@blp.post("/loans")
@errors(blp, 401, 403, 422, 404, 409)
@api_auth("bank")
@blp.arguments(LoanIn)
@blp.response(201, LoanOut)
@blp.doc(security=SECURITY)
def create_loan(body):
    """Register a loan with its pledge (and the agreed risk shares)."""
    s = get_session()
    user = api_user()
    pledge = body.pop("pledge")
    shares = [services.ShareInput(**sh) for sh in body.pop("risk_shares")]
    loan = services.create_loan(s, bank_org_id=user.org_id, asset_ids=pledge["asset_ids"],
                                registration_no=pledge["registration_no"],
                                registered_on=pledge["registered_on"], risk_shares=shares,
                                actor_id=user.id, **body)
    s.commit()
    return loan_out(s, loan)


@blp.get("/loans")
@errors(blp, 401, 404, 422)
@api_auth("bank", "operator", "owner")
@blp.arguments(LoanQuery, location="query")
@blp.response(200, page_schema(LoanOut, "LoanPage"))
@blp.doc(security=SECURITY)
def list_loans(args):
    """A bank sees its own book; a borrower its loans; operators everything."""
    s = get_session()
    user = api_user()
    stmt = select(Loan).order_by(Loan.id.desc())
    if user.role == "bank":
        stmt = stmt.where(Loan.bank_org_id == user.org_id)
    elif user.role == "owner":
        stmt = stmt.where(Loan.borrower_org_id == user.org_id)
    if args["status"]:
        stmt = stmt.where(Loan.status == args["status"])
    if args["borrower_org_id"]:
        stmt = stmt.where(Loan.borrower_org_id == args["borrower_org_id"])
    page = paginate(s, stmt, args["page"], args["per_page"])
    page["items"] = [loan_out(s, ln) for ln in page["items"]]
    return page


@blp.get("/loans/<int:loan_id>")
@errors(blp, 401, 404, 422)
@api_auth()
@blp.response(200, LoanOut)
@blp.doc(security=SECURITY)
def get_loan(loan_id):
    s = get_session()
    return loan_out(s, services.visible_loan(s, loan_id, api_user()))


@blp.get("/loans/<int:loan_id>/claim")
@errors(blp, 401, 404, 422)
@api_auth()
@blp.arguments(ClaimQuery, location="query")
@blp.response(200, ClaimOut)
@blp.doc(security=SECURITY)
def get_claim(args, loan_id):
    """The claim outstanding on as_of (default: today), by head, in 民法典 561 order."""
    s = get_session()
    loan = services.visible_loan(s, loan_id, api_user())
    as_of = args["as_of"] or today()
    return claim_out(services.claim_on(s, loan, as_of), as_of, loan.currency)


@blp.post("/loans/<int:loan_id>/costs")
@errors(blp, 401, 403, 422, 404)
@api_auth("bank")
@blp.arguments(CostIn)
@blp.response(201, EventOut)
@blp.doc(security=SECURITY)
def add_cost(body, loan_id):
    """An enforcement cost (legal fees, appraisal…), allowed at any time."""
    s = get_session()
    loan = services.bank_loan(s, loan_id, api_user(), lock=True)
    ev = services.add_cost(s, loan.id, actor_id=api_user().id, **body)
    s.commit()
    return _event_out(s, loan, ev)


@blp.post("/loans/<int:loan_id>/repayments")
@errors(blp, 401, 403, 422, 404)
@api_auth("bank")
@blp.arguments(RepaymentIn)
@blp.response(201, EventOut)
@blp.doc(security=SECURITY)
def add_repayment(body, loan_id):
    """A repayment; more than the claim on paid_on → 422 payment_exceeds_claim."""
    s = get_session()
    loan = services.bank_loan(s, loan_id, api_user(), lock=True)
    ev = services.add_repayment(s, loan.id, actor_id=api_user().id, **body)
    s.commit()
    return _event_out(s, loan, ev)


@blp.post("/loans/<int:loan_id>/default")
@errors(blp, 401, 403, 422, 404)
@api_auth("bank")
@blp.arguments(DefaultIn)
@blp.response(200, LoanOut)
@blp.doc(security=SECURITY)
def declare_default(body, loan_id):
    """performing → defaulted; before maturity it accelerates the loan."""
    s = get_session()
    loan = services.bank_loan(s, loan_id, api_user(), lock=True)
    services.declare_default(s, loan.id, declared_on=body["declared_on"],
                             actor_id=api_user().id)
    s.commit()
    return loan_out(s, loan)


# --- public register ------------------------------------------------------------------

def register_stmt(registry_no=None, pledgor=None, pledgee=None, registration_no=None):
    pledgor_org, pledgee_org = aliased(Org), aliased(Org)
    stmt = (select(Pledge.registration_no, Asset.registry_no, Asset.kind.label("asset_kind"),
                   Asset.title.label("asset_title"), Asset.classification,
                   pledgor_org.name.label("pledgor"), pledgee_org.name.label("pledgee"),
                   Pledge.registered_on, Pledge.status, Pledge.released_on,
                   Pledge.enforced_on)
            .select_from(PledgeAsset)
            .join(Pledge, Pledge.id == PledgeAsset.pledge_id)
            .join(Asset, Asset.id == PledgeAsset.asset_id)
            .join(Loan, Loan.id == Pledge.loan_id)
            .join(pledgor_org, pledgor_org.id == Loan.borrower_org_id)
            .join(pledgee_org, pledgee_org.id == Loan.bank_org_id)
            .order_by(Pledge.registered_on.desc(), Pledge.id.desc(), PledgeAsset.id))
    if registry_no and registry_no.strip():
        stmt = stmt.where(Asset.registry_no == registry_no.strip())
    if registration_no and registration_no.strip():
        stmt = stmt.where(Pledge.registration_no == registration_no.strip())
    for term, org in ((pledgor, pledgor_org), (pledgee, pledgee_org)):
        if term and term.strip():
            like = f"%{term.strip()}%"
            stmt = stmt.where(or_(org.name.ilike(like), org.name_en.ilike(like)))
    return stmt


def register_rows(session, stmt, page: int, per_page: int) -> dict:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    items = [{"registration_no": r.registration_no, "registry_no": r.registry_no,
              "asset_kind": r.asset_kind, "asset_title": r.asset_title,
              "classification": r.classification, "pledgor": r.pledgor, "pledgee": r.pledgee,
              "registered_on": r.registered_on, "status": r.status,
              "changed_on": r.released_on or r.enforced_on} for r in rows]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


@register_blp.get("/registry/pledges")
@errors(register_blp, 422)
@api_auth(optional=True)
@register_blp.arguments(RegisterQuery, location="query")
@register_blp.response(200, page_schema(RegisterEntry, "PledgeRegisterPage"))
def pledge_register(args):
    """The public pledge register (质押登记公示): one row per pledged asset, no amounts."""
    stmt = register_stmt(args["registry_no"], args["pledgor"], args["pledgee"],
                         args["registration_no"])
    return register_rows(get_session(), stmt, args["page"], args["per_page"])
