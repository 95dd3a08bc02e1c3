"""The web skeleton: login/logout, account and API tokens, language switch,
role-aware navigation and the dashboard that packages contribute panels to.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (Blueprint, Flask, abort, current_app, flash, g, redirect, render_template,
                   request, session, url_for)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import select, update
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from . import settings_store
from .accounts import services as accounts
from .accounts.models import ROLES, User
from .audit import AuditRecord, record
from .db import get_session
from .errors import DomainError
from .extensions import limiter, login_manager
from .forms import BaseForm
from .notifications import Notification, unread
from .timeutil import business_date, utcnow

bp = Blueprint("web", __name__)


@dataclass
class NavItem:
    endpoint: str
    label: object
    roles: tuple[str, ...] = ()  # empty: everyone (anonymous included)
    order: int = 50
    login: bool = False


@dataclass
class Panel:
    """A block on the dashboard, contributed by a package: render(user, session) → HTML."""

    render: Callable
    roles: tuple[str, ...]
    order: int = 50


@dataclass
class Registry:
    nav: list[NavItem] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)


def registry(app: Flask | None = None) -> Registry:
    return (app or current_app).extensions["market.web"]


def add_nav(app: Flask, endpoint: str, label, roles: tuple[str, ...] = (), order: int = 50,
            login: bool = False) -> None:
    registry(app).nav.append(NavItem(endpoint, label, roles, order, login or bool(roles)))


def add_panel(app: Flask, render: Callable, roles: tuple[str, ...], order: int = 50) -> None:
    """render(user, session) returns HTML: Markup or the str of render_template (whose
    autoescaping has already made user data safe); None or "" shows nothing."""
    registry(app).panels.append(Panel(render, roles, order))


def role_required(*roles: str):
    """Web views: login first, then the role (403 otherwise)."""

    def deco(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if roles and current_user.role not in roles:
                abort(403)
            session_ = get_session()
            session_.info["actor_id"] = current_user.id
            return view(*args, **kwargs)

        return wrapper

    return deco


MAX_ID = 2**63 - 1  # beyond any database integer: such an id cannot exist


def existing_id(value: int) -> int:
    """A URL id that could exist, else 404 (not a 500 from the driver's overflow)."""
    if not 0 < value <= MAX_ID:
        abort(404)
    return value


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only same-site relative paths: no scheme, no host, no '//' or backslash tricks."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    return target


@login_manager.user_loader
def _load_user(token: str):
    try:
        uid, version = (int(x) for x in token.split(":", 1))
    except ValueError:
        return None
    user = get_session().get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class TokenForm(BaseForm):
    name = StringField(_l("Token name"), validators=[Length(max=100)])


class PasswordForm(BaseForm):
    old = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=12)])


ROLE_LABELS = {"operator": _l("Exchange operator"), "bank": _l("Bank"),
               "investor": _l("Investor"), "owner": _l("IP owner")}


class LanguageForm(BaseForm):
    locale = SelectField(_l("Language"), choices=[SelectChoice("zh", "中文"),
                                                  SelectChoice("en", "English")])


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
    """One text field per setting (built from SPECS, so a new setting shows up by itself)."""
    fields = {key: StringField(setting_label(key), validators=[DataRequired(), Length(max=64)])
              for key in settings_store.SPECS}
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


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _token_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


@bp.route("/")
def index():
    return render_template("market/home.html")


@bp.route("/healthz")
def healthz():
    return {"ok": True}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        s = get_session()
        user = accounts.authenticate(s, form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong e-mail or password."), "error")
        else:
            login_user(user)
            s.info["actor_id"] = user.id
            record(s, "user.login", "user", user.id, actor_id=user.id)
            s.commit()
            return redirect(safe_next(request.args.get("next"), url_for("web.dashboard")))
    return render_template("market/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        s = get_session()
        record(s, "user.logout", "user", current_user.id, actor_id=current_user.id)
        s.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("web.index"))


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("web.index")))


@bp.route("/dashboard")
@login_required
def dashboard():
    s = get_session()
    panels = [p for p in sorted(registry().panels, key=lambda p: p.order)
              if not p.roles or current_user.role in p.roles]
    html = [_render_panel(p, s) for p in panels]
    actions = [n for n in _visible_nav(current_app, current_user)
               if n.endpoint not in ("web.dashboard", "web.index")]
    # Panels are our packages' own rendered templates (render_template returns str).
    return render_template("market/dashboard.html", panels=[Markup(h) for h in html if h],
                           actions=actions, inbox=unread(s, current_user.id, limit=5),
                           today=business_date(utcnow(), current_app.config["MARKET_TIMEZONE"]))


def _render_panel(panel: Panel, s):
    """One broken panel must not take the whole dashboard down (tests still see it fail)."""
    try:
        return panel.render(current_user, s)
    except Exception:
        if current_app.testing:
            raise
        current_app.logger.exception("dashboard panel %r failed", panel.render)
        s.rollback()
        return None


@bp.route("/account")
@login_required
def account():
    s = get_session()
    return render_template("market/account.html", token_form=TokenForm(),
                           password_form=PasswordForm(),
                           language_form=LanguageForm(locale=str(get_locale())),
                           tokens=accounts.tokens_of(s, current_user.id), new_token=None)


@bp.route("/account/language", methods=["POST"])
@login_required
def set_preferred_language():
    """Remembered on the user, so it follows them to any browser they log in from."""
    form = LanguageForm()
    if form.validate_on_submit():
        s = get_session()
        user = s.get(User, current_user.id)
        user.locale = form.locale.data
        session["lang"] = form.locale.data
        s.commit()
        refresh()
        flash(_("Language saved."), "info")
    return redirect(url_for("web.account"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
@limiter.limit(_token_limit)
def create_token():
    form = TokenForm()
    s = get_session()
    if not form.validate_on_submit():
        flash(_("Could not create the token."), "error")
        return redirect(url_for("web.account"))
    _tok, plain = accounts.issue_token(s, current_user, form.name.data or "")
    s.commit()
    return render_template("market/account.html", token_form=TokenForm(formdata=None),
                           password_form=PasswordForm(formdata=None),
                           language_form=LanguageForm(formdata=None, locale=str(get_locale())),
                           tokens=accounts.tokens_of(s, current_user.id), new_token=plain)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    existing_id(token_id)
    s = get_session()
    accounts.revoke_token(s, current_user, token_id)
    s.commit()
    flash(_("Token revoked."), "info")
    return redirect(url_for("web.account"))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordForm()
    s = get_session()
    if not form.validate_on_submit():
        flash(_("The new password needs at least 12 characters."), "error")
        return redirect(url_for("web.account"))
    user = s.get(User, current_user.id)
    try:
        accounts.change_password(s, user, form.old.data, form.new.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.account"))
    s.commit()
    login_user(user)  # this session continues; every other one is now invalid
    flash(_("Password changed. Other sessions were signed out."), "info")
    return redirect(url_for("web.account"))


@bp.route("/notifications")
@login_required
def notifications():
    s = get_session()
    rows = list(s.scalars(select(Notification).where(Notification.user_id == current_user.id)
                          .order_by(Notification.id.desc()).limit(100)))
    return render_template("market/notifications.html", rows=rows)


def _own_notification(s, notification_id: int) -> Notification:
    n = s.get(Notification, existing_id(notification_id))
    if n is None or n.user_id != current_user.id:
        abort(404)
    return n


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def read_notification(notification_id: int):
    """Mark one as read; with open=1, go on to what it is about."""
    s = get_session()
    n = _own_notification(s, notification_id)
    if n.read_at is None:
        n.read_at = utcnow()
    link = n.link
    s.commit()
    if request.form.get("open") and link:
        return redirect(safe_next(link, url_for("web.notifications")))
    return redirect(url_for("web.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all_notifications():
    s = get_session()
    s.execute(update(Notification)
              .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
              .values(read_at=utcnow()))
    s.commit()
    flash(_("All notifications marked as read."), "info")
    return redirect(url_for("web.notifications"))


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
        s.commit()
        flash(_("Role of %(email)s changed to %(role)s; their sessions were signed out.",
                email=user.email, role=ROLE_LABELS[form.role.data]), "info")
    return redirect(url_for("web.users"))


@bp.route("/admin/settings", methods=["GET", "POST"])
@role_required("operator")
def settings():
    """Rule thresholds with their legal source; saved all together or not at all."""
    s = get_session()
    current = {k: str(v) for k, v in settings_store.all_values(s).items()}
    form = settings_form_class()(data=current)
    status = 200
    if request.method == "POST":
        changed: dict[str, object] = {}
        if form.validate_on_submit():
            for key in settings_store.SPECS:
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
        if form.errors or any(form[k].errors for k in settings_store.SPECS):
            s.rollback()
            flash(_("Nothing was saved: correct the marked values."), "error")
            status = 422
        else:
            s.commit()
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
            for k, spec in settings_store.SPECS.items()]
    return render_template("market/settings.html", form=form, rows=rows), status


def _parse_day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


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
    if args.get("object_id", "").strip().isdigit():
        stmt = stmt.where(AuditRecord.object_id == int(args["object_id"]))
    actor = args.get("actor", "").strip()
    if actor.isdigit():
        stmt = stmt.where(AuditRecord.actor_id == int(actor))
    elif actor:
        stmt = stmt.where(AuditRecord.actor_id.in_(
            select(User.id).where(User.email.contains(actor.lower()))))
    tz = ZoneInfo(current_app.config["MARKET_TIMEZONE"])
    since, until = _parse_day(args.get("since")), _parse_day(args.get("until"))
    if since:
        stmt = stmt.where(AuditRecord.at >= dt.datetime.combine(since, dt.time(), tz))
    if until:
        stmt = stmt.where(AuditRecord.at < dt.datetime.combine(until + dt.timedelta(days=1),
                                                               dt.time(), tz))
    if args.get("before", "").isdigit():
        stmt = stmt.where(AuditRecord.id < int(args["before"]))
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


def _visible_nav(app: Flask, user) -> list[NavItem]:
    authed = getattr(user, "is_authenticated", False)
    items = []
    for item in sorted(registry(app).nav, key=lambda n: n.order):
        if item.login and not authed:
            continue
        if item.roles and (not authed or user.role not in item.roles):
            continue
        if item.endpoint not in app.view_functions:
            continue  # a package that is not installed
        items.append(item)
    return items


def init_app(app: Flask) -> None:
    from .accounts.api import blp as orgs_api
    from .api import register

    app.extensions["market.web"] = Registry()
    app.register_blueprint(bp)
    register(app, orgs_api)
    add_nav(app, "web.dashboard", _l("Dashboard"), roles=("operator", "bank", "investor", "owner"),
            order=10)
    add_nav(app, "web.users", _l("Users"), roles=("operator",), order=90)
    add_nav(app, "web.settings", _l("Settings"), roles=("operator",), order=92)
    add_nav(app, "web.audit_log", _l("Audit log"), roles=("operator",), order=93)

    @app.errorhandler(CSRFError)
    def _csrf_expired(exc):
        if request.path.startswith("/api/"):
            from flask import jsonify
            return jsonify({"error": {"code": "csrf_failed", "message": exc.description}}), 400
        # A form left open too long or posted from elsewhere: say so, write nothing.
        return render_template("market/error.html", code=400,
                               message=_("The form expired or did not come from this site. "
                                         "Nothing was changed; please try again."),
                               back=same_site_referrer()), 400

    _localized_error_pages(app)

    @app.context_processor
    def _nav():
        user = current_user
        items = _visible_nav(app, user)
        count = 0
        if getattr(user, "is_authenticated", False):
            count = len(unread(get_session(), user.id))
        return {"nav_items": items, "unread_count": count, "role_label": _role_label,
                "has_endpoint": lambda e: e in app.view_functions,
                "now_utc": utcnow, "now_utc_iso": lambda: utcnow().isoformat()}


def _role_label(role: str):
    return ROLE_LABELS.get(role, role)


def same_site_referrer() -> str | None:
    ref = request.referrer or ""
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else None


def _localized_error_pages(app: Flask) -> None:
    """429 and 500 on web pages in the reader's language; the API keeps its JSON bodies."""
    from werkzeug.exceptions import InternalServerError, TooManyRequests

    spec = app.error_handler_spec.setdefault(None, {})
    api_429 = spec.get(429, {}).get(TooManyRequests)
    api_500 = spec.get(500, {}).get(InternalServerError)

    def too_many(exc):
        if request.path.startswith("/api/") and api_429:
            return api_429(exc)
        return render_template("market/error.html", code=429, back=same_site_referrer(),
                               message=_("Too many attempts. Wait a minute and try again.")), 429

    def server_error(exc):
        if request.path.startswith("/api/") and api_500:
            return api_500(exc)
        try:
            get_session().rollback()
            return render_template("market/error.html", code=500, back=same_site_referrer(),
                                   message=_("Something went wrong on our side; nothing was "
                                             "changed. Please try again.")), 500
        except Exception:  # noqa: BLE001 - the page itself must not fail
            return "500 Internal Server Error", 500

    app.register_error_handler(429, too_many)
    app.register_error_handler(500, server_error)
