"""Browser-facing protections for the pages: a Content-Security-Policy with a per-request
script nonce, HSTS when the site is served over HTTPS only, and whether the session
cookie is Secure.

Pages load their JavaScript from /static; the few inline <script> blocks carry
`nonce="{{ csp_nonce() }}"`, and no template uses inline event handlers (app.js reads
`data-confirm` and `data-autosubmit` instead). Inline style attributes stay allowed:
they cannot run code.
"""
from __future__ import annotations

import os
import secrets

from flask import Flask, g

from . import http

HSTS = "max-age=31536000; includeSubDomains"


def secure_cookie_setting(raw: str) -> bool | None:
    """SESSION_COOKIE_SECURE from the environment: "1"/"0" (and the like), or None when
    unset — then init_app turns it on except in development (debug) and testing, where
    pages are served over plain HTTP."""
    if raw.strip() == "":
        return None
    return raw.strip().lower() in ("1", "true", "yes", "on")


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy() -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def add_headers(app: Flask, resp) -> None:
    """Called for every response Flask makes (market.app's after_request). The policy is
    for pages, where scripts run: JSON answers (Flask's or the bid shortcut's) carry none."""
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", content_security_policy())


def init_app(app: Flask) -> None:
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = not (
            app.debug or app.testing or os.environ.get("FLASK_DEBUG") == "1")
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    if app.config["SESSION_COOKIE_SECURE"]:
        # Every answer, the bid shortcut's included (market/http.py's header sources).
        http.extra_headers(app).append(lambda environ: [("Strict-Transport-Security", HSTS)])
