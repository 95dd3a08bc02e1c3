"""GET /api/v1/orgs"""
from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import or_, select

from ..api import API_PREFIX, Blueprint, PageArgs, api_auth, page_schema, paginate
from ..db import get_session
from .models import Org

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
