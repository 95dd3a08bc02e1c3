"""Operator payments desk: pending balance payments with their reference codes, to match
against the bank statement; confirm (settles the sale) or cancel. Everything audited."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..accounts.models import Org, User
from ..db import get_session
from ..errors import DomainError
from ..forms import BaseForm
from ..web import add_nav, role_required
from . import refunds, services
from .models import Payment

bp = Blueprint("payments", __name__)


@bp.route("/admin/payments")
@role_required("operator")
def desk():
    s = get_session()
    pending = services.pending_balances(s)
    recent = list(s.scalars(select(Payment).where(Payment.status != "pending")
                            .order_by(Payment.id.desc()).limit(30)))
    ids = {p.payer_user_id for p in pending + recent}
    payers = {u.id: u for u in s.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    owed = refunds.to_execute(s)
    org_ids = {r.payer_org_id for r in owed}
    orgs = {o.id: o for o in s.scalars(select(Org).where(Org.id.in_(org_ids)))} if org_ids else {}
    return render_template("payments/desk.html", pending=pending, recent=recent, payers=payers,
                           refunds=owed, refund_orgs=orgs, is_overdue=refunds.is_overdue,
                           form=BaseForm())


def _desk_action(action, done_message):
    """An operator's decision on the desk: CSRF-checked, audited by the service, one
    transaction; a refusal is flashed and changes nothing."""
    s = get_session()
    if not BaseForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("payments.desk"))
    try:
        p = action(s)
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("payments.desk"))
    s.commit()
    flash(done_message(p), "info")
    return redirect(url_for("payments.desk"))


@bp.route("/admin/payments/<int:payment_id>/confirm", methods=["POST"])
@role_required("operator")
def confirm(payment_id: int):
    return _desk_action(
        lambda s: services.confirm_offline(s, payment_id, actor_id=current_user.id),
        lambda p: _("Payment %(ref)s confirmed; the sale is settled.", ref=p.reference)
        if p.settlement_id is not None else _("Payment %(ref)s confirmed.", ref=p.reference))


@bp.route("/admin/payments/<int:payment_id>/cancel", methods=["POST"])
@role_required("operator")
def cancel(payment_id: int):
    return _desk_action(
        lambda s: services.cancel_payment(s, payment_id, actor_id=current_user.id),
        lambda p: _("Payment %(ref)s cancelled.", ref=p.reference))


@bp.route("/admin/refunds/<int:refund_id>/sent", methods=["POST"])
@role_required("operator")
def refund_sent(refund_id: int):
    reference = request.form.get("bank_reference", "")
    return _desk_action(
        lambda s: refunds.mark_sent(s, refund_id, reference, actor_id=current_user.id),
        lambda r: _("Refund %(id)s marked sent (bank reference %(ref)s).", id=r.id,
                    ref=r.bank_reference))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "payments.desk", _l("Payments desk"), roles=("operator",), order=85)
