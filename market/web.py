"""The web skeleton: login/logout, account and API tokens, language switch,
role-aware navigation and the dashboard that packages contribute panels to.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, abort, current_app, flash, g, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from .accounts import services as accounts
from .accounts.models import ROLES, User
from .audit import AuditRecord
from .db import get_session
from .errors import DomainError
from .extensions import limiter, login_manager
from .forms import BaseForm
from .notifications import Notification, unread
from .timeutil import utcnow

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


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])


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
            from .audit import record
            record(s, "user.login", "user", user.id, actor_id=user.id)
            s.commit()
            return redirect(safe_next(request.args.get("next"), url_for("web.dashboard")))
    return render_template("market/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
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
    html = [p.render(current_user, s) for p in panels]
    return render_template("market/dashboard.html", panels=[h for h in html if h])


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    s = get_session()
    return render_template("market/account.html", token_form=TokenForm(),
                           password_form=PasswordForm(),
                           tokens=accounts.tokens_of(s, current_user.id), new_token=None)


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
                           tokens=accounts.tokens_of(s, current_user.id), new_token=plain)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
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


@bp.route("/admin/users", methods=["GET"])
@role_required("operator")
def users():
    s = get_session()
    rows = list(s.scalars(select(User).order_by(User.id)))
    return render_template("market/users.html", rows=rows, form=RoleForm())


@bp.route("/admin/users/<int:user_id>/role", methods=["POST"])
@role_required("operator")
def change_role(user_id: int):
    s = get_session()
    form = RoleForm()
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    if form.validate_on_submit():
        accounts.set_role(s, user, form.role.data, actor_id=current_user.id)
        s.commit()
        flash(_("Role changed."), "info")
    return redirect(url_for("web.users"))


@bp.route("/admin/audit")
@role_required("operator")
def audit_log():
    s = get_session()
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc())
    for arg, col in (("action", AuditRecord.action), ("object_type", AuditRecord.object_type)):
        if request.args.get(arg):
            stmt = stmt.where(col == request.args[arg])
    for arg, col in (("actor_id", AuditRecord.actor_id), ("object_id", AuditRecord.object_id)):
        if request.args.get(arg, "").isdigit():
            stmt = stmt.where(col == int(request.args[arg]))
    rows = list(s.scalars(stmt.limit(200)))
    return render_template("market/audit.html", rows=rows)


def init_app(app: Flask) -> None:
    from .accounts.api import blp as orgs_api
    from .api import register

    app.extensions["market.web"] = Registry()
    app.register_blueprint(bp)
    register(app, orgs_api)
    add_nav(app, "web.dashboard", _l("Dashboard"), roles=("operator", "bank", "investor", "owner"),
            order=10)
    add_nav(app, "web.users", _l("Users"), roles=("operator",), order=90)
    add_nav(app, "web.audit_log", _l("Audit log"), roles=("operator",), order=91)

    @app.context_processor
    def _nav():
        user = current_user
        items = []
        for item in sorted(registry(app).nav, key=lambda n: n.order):
            if item.login and not getattr(user, "is_authenticated", False):
                continue
            if item.roles and (not getattr(user, "is_authenticated", False)
                               or user.role not in item.roles):
                continue
            items.append(item)
        count = 0
        if getattr(user, "is_authenticated", False):
            count = len(unread(get_session(), user.id))
        return {"nav_items": items, "unread_count": count,
                "has_endpoint": lambda e: e in app.view_functions,
                "now_utc_iso": lambda: utcnow().isoformat()}
