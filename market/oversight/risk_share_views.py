"""Web pages: a risk-sharing party's shares ("my risk shares", with the form that records a
payment; operators see every party's), and the loan's due-diligence dossier download."""
from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from ..db import get_session
from ..errors import DomainError, NotFound
from ..web import add_nav, add_panel, role_required
from . import dossier, risk_shares
from .api import today
from .risk_share_api import pdf_response

bp = Blueprint("risk_share_web", __name__)


def _party_or_operator() -> None:
    if current_user.role != "operator" and not risk_shares.is_party(current_user):
        abort(403)


@bp.route("/risk-shares")
@role_required()
def my_risk_shares():
    _party_or_operator()
    s = get_session()
    shares = list(s.scalars(risk_shares.visible(s, current_user)))
    return render_template("oversight/risk_shares.html",
                           items=risk_shares.with_names(s, shares),
                           today=today().isoformat())


@bp.route("/risk-shares/<int:share_id>/paid", methods=["POST"])
@role_required()
def record_paid(share_id: int):
    _party_or_operator()
    s = get_session()
    reference = (request.form.get("reference") or "").strip()
    try:
        paid_on = dt.date.fromisoformat(request.form.get("paid_on") or "")
        if not reference or len(reference) > 120 or not 1990 <= paid_on.year <= 2199:
            raise ValueError
    except ValueError:
        flash(_("Enter the date paid and the payment reference."), "error")
        return redirect(url_for("risk_share_web.my_risk_shares"))
    try:
        share = risk_shares.share_for_payment(s, share_id, current_user)
        risk_shares.record_payment(s, share, paid_on=paid_on, reference=reference,
                                   actor_id=current_user.id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        s.rollback()
        flash(_("The payment was not recorded: %(why)s", why=exc.message), "error")
        return redirect(url_for("risk_share_web.my_risk_shares"))
    s.commit()
    flash(_("Payment of risk share #%(id)s recorded.", id=share_id), "info")
    return redirect(url_for("risk_share_web.my_risk_shares"))


@bp.route("/loans/<int:loan_id>/dossier.pdf")
@role_required("bank", "operator")
def loan_dossier(loan_id: int):
    s = get_session()
    try:
        loan = dossier.loan_for_dossier(s, loan_id, current_user)
    except NotFound:
        abort(404)
    return pdf_response(dossier.to_pdf(s, loan), loan.id)


def _panel(user, s):
    """On a fund's, insurer's or guarantor's dashboard: its shares by status."""
    if not risk_shares.is_party(user):
        return ""
    shares = list(s.scalars(risk_shares.visible(s, user)))
    return Markup(render_template("oversight/_risk_share_panel.html", shares=shares))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "risk_share_web.my_risk_shares", _l("Risk shares"), roles=("operator",),
            order=72)
    add_panel(app, _panel, roles=("investor", "owner", "bank"), order=12)
