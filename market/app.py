"""create_app: the composition root. Only here (and cli/scheduler) are listings and
auctions known; each package exposes init_app(app) and a list of scheduler jobs.
"""
from __future__ import annotations

import os
import uuid
from decimal import Decimal

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from . import api, db, i18n, web
from .extensions import csrf, limiter, login_manager


class JSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o):
        if isinstance(o, Decimal):
            return str(o)
        return DefaultJSONProvider.default(o)


class IdConverter(IntegerConverter):
    """`<int:id>` for object ids. An id no database column can hold (SQLite overflows past
    2**63 − 1) cannot exist: it becomes 0, which no row has, so the request still passes
    auth and validation in the contract's order and ends in a plain 404."""

    MAX_ID = 2**63 - 1

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return 0 if number > self.MAX_ID else number


def create_app(config: dict | None = None) -> Flask:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    instance = os.environ.get("INSTANCE_PATH") or os.path.join(root, "instance")
    app = Flask(
        __name__,
        instance_path=instance,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
    )
    app.json = JSONProvider(app)
    app.url_map.converters["int"] = IdConverter
    os.makedirs(app.instance_path, exist_ok=True)
    from .config import Config

    app.config.from_object(Config(app.instance_path))
    if config:
        app.config.update(config)

    db.init_app(app)
    _request_context(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    web.init_app(app)

    from . import cli
    from .lending import init_app as lending_init
    from .assets import init_app as assets_init
    from .payments import init_app as payments_init
    from .settlement import init_app as settlement_init
    import listings
    import auctions

    assets_init(app)
    lending_init(app)
    payments_init(app)
    settlement_init(app)
    listings.init_app(app)
    auctions.init_app(app)
    cli.init_app(app)
    from .notifications import send_email
    from .scheduler import Job, register as register_jobs

    register_jobs(app, Job("notifications.email", send_email, 30))
    return app


# Every response carries these. Most bids are answered before Flask and its hooks (auctions
# BidShortcut), which adds these and the request id itself.
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"))


def request_id(environ: dict) -> str:
    """The client's X-Request-Id (64 characters at most), else a new one."""
    return environ.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex


def _request_context(app: Flask) -> None:
    @app.before_request
    def _begin():
        g.request_id = request_id(request.environ)
        # SQLite: reads begin deferred, writes take the write lock at BEGIN.
        g.write_token = db.sqlite_write_intent.set(
            request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def _end(exc):
        token = g.pop("write_token", None)
        if token is not None:
            db.sqlite_write_intent.reset(token)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        for name, value in SECURITY_HEADERS:
            resp.headers.setdefault(name, value)
        return resp
