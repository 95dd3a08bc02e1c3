"""GET /api/v1/orgs"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from .. import audit
from ..api import API_PREFIX, Blueprint, PageArgs, api_auth, api_user, page_schema, paginate
from ..db import get_session
from ..errors import NotFound
from .models import WRITING_ROLES, Org

blp = Blueprint("orgs", __name__, url_prefix=API_PREFIX, description="Organisations")


class OrgSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    kind = fields.String(required=True)


class OrgQuery(PageArgs):
    name = fields.String(load_default=None)


@blp.get("/orgs")
@api_auth()
@blp.arguments(OrgQuery, location="query")
@blp.response(200, page_schema(OrgSchema, "OrgPage"))
@blp.doc(security=[{"bearer": []}])
def list_orgs(args):
    stmt = select(Org).order_by(Org.id)
    if args["name"]:
        like = f"%{args['name']}%"
        stmt = stmt.where(or_(Org.name.ilike(like), Org.name_en.ilike(like)))
    return paginate(get_session(), stmt, args["page"], args["per_page"])


class BankAccountSchema(Schema):
    bank_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    account_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    account_no = fields.String(required=True, validate=validate.Length(min=1, max=64))


@blp.put("/orgs/<int:org_id>/bank-account")
@api_auth(*WRITING_ROLES)
@blp.arguments(BankAccountSchema)
@blp.response(200, BankAccountSchema)
@blp.doc(security=[{"bearer": []}])
def put_bank_account(data, org_id: int):
    """The organisation's receiving account (its users, or an operator): refunds go there."""
    s = get_session()
    user = api_user()
    org = s.get(Org, org_id) if 0 < org_id < 2 ** 31 else None
    if org is None or (user.role != "operator" and user.org_id != org_id):
        raise NotFound("organisation")
    before = {"bank_name": org.bank_name, "account_name": org.bank_account_name,
              "account_no": org.bank_account_no}
    org.bank_name, org.bank_account_name, org.bank_account_no = (
        data["bank_name"].strip(), data["account_name"].strip(), data["account_no"].strip())
    audit.record(s, "org.bank_account", "org", org.id, actor_id=user.id, before=before,
                 after=data)
    s.commit()
    return data
