"""/api/v1 risk shares (what each risk-sharing party owes and has paid) and the loan's
due-diligence dossier (API.md "Oversight and reports")."""
from __future__ import annotations

import datetime as dt
import functools

from flask import Response
from marshmallow import Schema, fields, validate

from ..api import (
    API_PREFIX,
    Blueprint,
    PageArgs,
    api_auth,
    api_user,
    page_schema,
    paginate,
)
from ..assets.api import errors
from ..db import get_session
from ..errors import Forbidden
from ..lending.api import RiskShareOut
from . import dossier, risk_shares

blp = Blueprint("risk_share_api", __name__, url_prefix=API_PREFIX,
                description="Risk-sharing parties' shares; the due-diligence dossier")
SECURITY = [{"bearer": []}]


class PaidIn(Schema):
    paid_on = fields.Date(required=True, validate=validate.Range(
        min=dt.date(1990, 1, 1), max=dt.date(2199, 12, 31)))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=120))


def party_or_operator(view):
    """Below api_auth, above the body: a caller who is neither is refused (403) before its
    body is read (API.md: role checks come before 422)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = api_user()
        if user.role != "operator" and not risk_shares.is_party(user):
            raise Forbidden("forbidden", "this call is for risk-sharing parties and operators")
        return view(*args, **kwargs)

    return wrapper


@blp.get("/risk-shares")
@errors(blp, 401, 403, 422)
@api_auth()
@party_or_operator
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RiskShareOut, "RiskSharePage"))
@blp.doc(security=SECURITY)
def list_risk_shares(args):
    """A fund's, insurer's or guarantor's users see the shares their organisation carries;
    operators all. A share is due, with amount_due, once a settled sale of its loan has
    left a shortfall."""
    s = get_session()
    return paginate(s, risk_shares.visible(s, api_user()), args["page"], args["per_page"])


@blp.post("/risk-shares/<int:share_id>/paid")
@errors(blp, 401, 403, 404, 409, 422)
@api_auth()
@party_or_operator
@blp.arguments(PaidIn)
@blp.response(200, RiskShareOut)
@blp.doc(security=SECURITY)
def record_paid(body, share_id):
    """The party (or an operator) records its payment of a due share, once; a share not
    due → 409 share_not_due; a second recording → 409 invalid_transition."""
    s = get_session()
    user = api_user()
    share = risk_shares.share_for_payment(s, share_id, user)
    risk_shares.record_payment(s, share, paid_on=body["paid_on"], reference=body["reference"],
                               actor_id=user.id)
    s.commit()
    return share


@blp.get("/loans/<int:loan_id>/dossier")
@errors(blp, 401, 403, 404)
@api_auth("bank", "operator")
@blp.response(200, description="application/pdf: the loan's whole record in time order")
@blp.doc(security=SECURITY)
def loan_dossier(loan_id):
    """The loan's due-diligence dossier (尽职免责) as a PDF: the loan's bank, operators."""
    s = get_session()
    loan = dossier.loan_for_dossier(s, loan_id, api_user())
    return pdf_response(dossier.to_pdf(s, loan), loan.id)


def pdf_response(pdf: bytes, loan_id: int) -> Response:
    """The dossier download (the API's and the web page's)."""
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="loan-{loan_id}-dossier.pdf"'})
