"""The operator's admin pages: users and their roles, the rule settings (with their legal
sources), the audit log. Routed on the web shell's blueprint, so endpoints stay `web.*`."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from . import settings_store
from .accounts import services as accounts
from .accounts.labels import ROLE_LABELS
from .accounts.models import ROLES, User
from .audit import AuditRecord
from .db import get_session, transactional
from .errors import DomainError
from .forms import BaseForm
from .inputs import parse_day, parse_id
from .web import bp, existing_id, role_required


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])


# The settings page shows these (translated) labels; settings_store.SPECS keeps the keys,
# kinds, defaults and legal sources.
SETTING_LABELS = {
    "min_auction_seconds": _l("Minimum auction duration (seconds)"),
    "start_price_floor_ratio": _l("Starting price floor, share of appraisal"),
    "deposit_min_ratio": _l("Deposit minimum, share of starting price"),
    "deposit_max_ratio": _l("Deposit maximum, share of starting price"),
    "default_extension_window_s": _l("Soft-close window (seconds)"),
    "default_extension_s": _l("Soft-close extension (seconds)"),
    "reauction_max_cut": _l("Re-auction: maximum starting-price cut"),
    "reauction_within_days": _l("Re-auction within (days)"),
    "min_notice_seconds": _l("Announce an auction at least (seconds) before it starts"),
    "receiving_account_name": _l("Receiving account: beneficiary name"),
    "receiving_account_bank": _l("Receiving account: bank"),
    "receiving_account_number": _l("Receiving account: account number"),
    "licence_payment_days": _l("Licence fee due within (days) of acceptance"),
    "reauction_notice_seconds": _l("Announce a re-auction at least (seconds) before it starts"),
    "fixed_price_days": _l("Fixed-price sale (变卖) period (days)"),
    "fixed_price_countdown_s": _l("Fixed-price sale countdown after first bid (seconds)"),
    "deposit_release_hours": _l("Release losers' deposits within (hours)"),
    "balance_due_days": _l("Winner's balance due within (days)"),
    "valuation_validity_days": _l("Valuation validity (days)"),
    "seller_commission_rate": _l("Seller commission rate"),
    "buyer_premium_rate": _l("Buyer premium rate"),
    "ltv_threshold": _l("Loan-to-value threshold for flags"),
    "annuity_warning_days": _l("Warn of annuity/renewal due within (days)"),
    "transfer_disclosure_days": _l("Listed transfer: disclosure working days"),
    "transfer_disclosure_days_large": _l("Listed transfer: disclosure working days above ¥10M"),
    "agreed_valuation_disposal_years": _l("Agreed valuation: dispose within (years)"),
    "npl_tolerance_pp": _l("IP-pledge NPL tolerance (percentage points)"),
}


# Sources that carry English words; the citations themselves stay as written.
SOURCE_TEXT = {
    "Exchange rule": _l("Exchange rule"),
    "评估报告有效期 (1 year)": _l("评估报告有效期 (1 year)"),
    "专利法 (annuity)": _l("专利法 (annuity)"),
    "法释〔2016〕18号 art. 12; 拍卖法 45 (≥7 days)": _l("法释〔2016〕18号 art. 12; 拍卖法 45 (≥7 days)"),
    "法释〔2016〕18号 art. 26": _l("法释〔2016〕18号 art. 26"),
}


def setting_source(key: str):
    source = settings_store.SPECS[key].source
    return SOURCE_TEXT.get(source, source)


def setting_label(key: str):
    return SETTING_LABELS.get(key) or settings_store.SPECS[key].label


def settings_form_class() -> type[BaseForm]:
    """One text field per shown setting (built from SPECS, so a new one shows up by itself)."""
    # A text setting (the receiving account) may be left empty; a number may not.
    fields = {key: StringField(setting_label(key), validators=[
                  Optional() if spec.kind is str else DataRequired(), Length(max=64)])
              for key, spec in settings_store.shown().items()}
    return type("SettingsForm", (BaseForm,), fields)


def _setting_error(message: str) -> str:
    """settings_store's refusal, said in the reader's language."""
    reason = message.split(": ", 1)[-1]
    if reason.startswith("at most"):
        return _("At most %(limit)s (拍卖法 56).", limit=reason.split()[2])
    return {"not a valid value": _("Not a valid value."),
            "must be a non-negative number": _("Enter a number that is not negative."),
            "must not be negative": _("Enter a whole number that is not negative."),
            }.get(reason, message)


@bp.route("/admin/users", methods=["GET"])
@role_required("operator")
def users():
    s = get_session()
    stmt = select(User).order_by(User.id)
    if request.args.get("role") in ROLES:
        stmt = stmt.where(User.role == request.args["role"])
    q = (request.args.get("q") or "").strip()
    if q:
        stmt = stmt.where(User.email.contains(q))
    rows = list(s.scalars(stmt.limit(500)))
    return render_template("market/users.html", rows=rows, roles=ROLES, role_labels=ROLE_LABELS)


@bp.route("/admin/users/<int:user_id>/role", methods=["POST"])
@role_required("operator")
@transactional
def change_role(user_id: int):
    s = get_session()
    form = RoleForm()
    user = s.get(User, existing_id(user_id))
    if user is None:
        abort(404)
    if user.id == current_user.id:
        # An operator demoting themselves could leave the exchange with no operator.
        flash(_("You cannot change your own role."), "error")
    elif not form.validate_on_submit():
        flash(_("Choose one of the roles."), "error")
    elif form.role.data != user.role:
        accounts.set_role(s, user, form.role.data, actor_id=current_user.id)
        flash(_("Role of %(email)s changed to %(role)s; their sessions were signed out.",
                email=user.email, role=ROLE_LABELS[form.role.data]), "info")
    return redirect(url_for("web.users"))


@bp.route("/admin/settings", methods=["GET", "POST"])
@role_required("operator")
@transactional
def settings():
    """Rule thresholds with their legal source; saved all together or not at all."""
    s = get_session()
    current = {k: str(v) for k, v in settings_store.all_values(s).items()}
    form = settings_form_class()(data=current)
    status = 200
    if request.method == "POST":
        changed: dict[str, object] = {}
        if form.validate_on_submit():
            for key in settings_store.shown():
                raw = (form[key].data or "").strip()
                if raw == current[key]:
                    continue
                try:
                    changed[key] = settings_store.put(s, key, raw, actor_id=current_user.id)
                except DomainError as exc:
                    form[key].errors = [_setting_error(exc.message)]
            values = {**settings_store.all_values(s)}
            if values["deposit_min_ratio"] > values["deposit_max_ratio"]:
                form["deposit_min_ratio"].errors = [
                    *form["deposit_min_ratio"].errors,
                    _("The deposit minimum cannot exceed the maximum (法释〔2016〕18号: 5–20%).")]
        if form.errors or any(form[k].errors for k in settings_store.shown()):
            s.rollback()
            flash(_("Nothing was saved: correct the marked values."), "error")
            status = 422
        else:
            flash(_("%(n)s setting(s) saved.", n=len(changed)) if changed
                  else _("Nothing changed."), "info")
            return redirect(url_for("web.settings"))
    saved = {r.key: r for r in s.scalars(select(settings_store.Setting))}
    editors = {u.id: u.email for u in s.scalars(
        select(User).where(User.id.in_([r.updated_by for r in saved.values() if r.updated_by])))}
    rows = [{"key": k, "spec": spec, "source": setting_source(k), "field": form[k],
             "saved": saved.get(k),
             "editor": editors.get(saved[k].updated_by) if k in saved else None,
             "default": settings_store.default_value(k)}
            for k, spec in settings_store.shown().items()]
    return render_template("market/settings.html", form=form, rows=rows), status


@bp.route("/admin/audit")
@role_required("operator")
def audit_log():
    """Filter by actor (id or e-mail), action (prefix: "user." is every user action),
    object, and business dates (from/to, inclusive, in MARKET_TIMEZONE)."""
    s = get_session()
    args = request.args
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc())
    if args.get("action"):
        action = args["action"].strip()
        stmt = stmt.where(AuditRecord.action.startswith(action, autoescape=True)
                          if action.endswith(".") else AuditRecord.action == action)
    if args.get("object_type"):
        stmt = stmt.where(AuditRecord.object_type == args["object_type"].strip())
    object_id, actor = parse_id(args.get("object_id")), args.get("actor", "").strip()
    if object_id is not None:
        stmt = stmt.where(AuditRecord.object_id == object_id)
    if parse_id(actor) is not None:
        stmt = stmt.where(AuditRecord.actor_id == parse_id(actor))
    elif actor:
        stmt = stmt.where(AuditRecord.actor_id.in_(
            select(User.id).where(User.email.contains(actor.lower()))))
    tz = ZoneInfo(current_app.config["MARKET_TIMEZONE"])
    since, until = parse_day(args.get("since")), parse_day(args.get("until"))
    if since:
        stmt = stmt.where(AuditRecord.at >= dt.datetime.combine(since, dt.time(), tz))
    if until:
        stmt = stmt.where(AuditRecord.at < dt.datetime.combine(until + dt.timedelta(days=1),
                                                               dt.time(), tz))
    if parse_id(args.get("before")) is not None:
        stmt = stmt.where(AuditRecord.id < parse_id(args.get("before")))
    page_size = 100
    rows = list(s.scalars(stmt.limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    actors = {u.id: u.email for u in s.scalars(
        select(User).where(User.id.in_({r.actor_id for r in rows if r.actor_id})))}
    older = None
    if more:
        older = url_for("web.audit_log", **{**args.to_dict(), "before": rows[-1].id})
    return render_template("market/audit.html", rows=rows, actors=actors, older=older)
