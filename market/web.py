"""The web shell: the `web` blueprint and what every page needs — role-aware navigation
and the dashboard that packages contribute to (add_nav, add_panel), the role check of
web views (role_required), safe redirects, the language switch, the context every
template gets, and the web error pages.

The pages themselves live beside it and route on this blueprint, so their endpoints are
`web.*`: accounts/views.py (login, logout, one's account), notification_views.py,
admin_views.py (users, settings, audit log).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from flask import (Blueprint, Flask, abort, current_app, redirect, render_template, request,
                   session, url_for)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup

from .accounts.api import blp as orgs_api
from .accounts.labels import role_label
from .api import register
from .db import get_session
from .http import safe_next, same_site_referrer  # noqa: F401  (used by the page modules)
from .notifications import unread
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


@bp.route("/")
def index():
    return render_template("market/home.html")


@bp.route("/healthz")
def healthz():
    return {"ok": True}


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
    # The page modules route on `bp`, so they import this module: they are imported here,
    # once it exists, and before `bp` is registered (a top-level import would be a cycle).
    from . import admin_views, notification_views  # noqa: F401
    from .accounts import views as account_views  # noqa: F401

    app.extensions["market.web"] = Registry()
    app.register_blueprint(bp)
    register(app, orgs_api)
    add_nav(app, "web.dashboard", _l("Dashboard"), roles=("operator", "bank", "investor", "owner"),
            order=10)
    add_nav(app, "web.users", _l("Users"), roles=("operator",), order=90)
    add_nav(app, "web.settings", _l("Settings"), roles=("operator",), order=92)
    add_nav(app, "web.audit_log", _l("Audit log"), roles=("operator",), order=93)

    @app.context_processor
    def _nav():
        user = current_user
        items = _visible_nav(app, user)
        count = 0
        if getattr(user, "is_authenticated", False):
            count = len(unread(get_session(), user.id))
        return {"nav_items": items, "unread_count": count, "role_label": role_label,
                "has_endpoint": lambda e: e in app.view_functions,
                "now_utc": utcnow, "now_utc_iso": lambda: utcnow().isoformat()}
