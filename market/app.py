"""create_app: the composition root. Only here (and cli/scheduler) are listings and
auctions known; each package exposes init_app(app) and a list of scheduler jobs.
"""
from __future__ import annotations

import os
from decimal import Decimal

from flask import Flask, abort, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from . import api, api_docs, db, http, i18n, inputs, web, websecurity
from .accounts.services import HASHER_KEY, hasher_for
from .errors import DomainError
from .extensions import csrf, limiter, login_manager


class JSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o):
        if isinstance(o, Decimal):
            return str(o)
        return DefaultJSONProvider.default(o)

    def loads(self, s, **kwargs):
        """request.get_json() too is held to market.inputs' bounds: a body nested too deep
        or with an overlong number is a ValueError (get_json's bad-JSON path), never a
        RecursionError."""
        inputs.check_json_shape(s.encode() if isinstance(s, str) else bytes(s))
        parsed = super().loads(s, **kwargs)
        if inputs.bad_strings(parsed):
            raise inputs.BadInput("text must not contain NUL or lone surrogate characters")
        return parsed


class IdConverter(IntegerConverter):
    """`<int:id>` for object ids. An id no key column can hold (PostgreSQL's INTEGER stops
    at 2**31 − 1) cannot exist: it becomes 0, which no row has, so the request still passes
    auth and validation in the contract's order and ends in a plain 404."""

    MAX_ID = inputs.MAX_ID

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return 0 if number > self.MAX_ID else number


def all_models() -> None:
    """Import every model module so Base.metadata knows the whole schema (migrations,
    tests). Only the composition root knows every package; market.db knows none."""
    import market.accounts.models  # noqa: F401
    import market.audit  # noqa: F401
    import market.lifecycle  # noqa: F401
    import market.settings_store  # noqa: F401
    import market.assets.models  # noqa: F401
    import market.lending.models  # noqa: F401
    import market.payments.models  # noqa: F401
    import market.settlement.models  # noqa: F401
    import market.oversight.models  # noqa: F401
    import market.notifications  # noqa: F401
    import market.calendar  # noqa: F401
    import listings.models  # noqa: F401
    import listings.modes.equity_models  # noqa: F401
    import listings.modes.licensing_models  # noqa: F401
    import listings.modes.transfer_models  # noqa: F401
    import auctions.models  # noqa: F401


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

    app.extensions[HASHER_KEY] = hasher_for(app.config)
    db.init_app(app)
    http.init_app(app)  # request id, checks, headers, error bodies: every path's
    websecurity.init_app(app)
    _request_context(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    api_docs.init_app(app)
    web.init_app(app)

    from . import cli
    from .lending import init_app as lending_init
    from .assets import init_app as assets_init
    from .payments import init_app as payments_init
    from .settlement import init_app as settlement_init
    from .marketdata import init_app as marketdata_init
    from .oversight import init_app as oversight_init
    import listings
    import auctions

    assets_init(app)
    lending_init(app)
    payments_init(app)
    settlement_init(app)
    marketdata_init(app)
    oversight_init(app)
    from . import calendar_api, calendar_views

    calendar_api.init_app(app)
    calendar_views.init_app(app)
    listings.init_app(app)
    auctions.init_app(app)
    cli.init_app(app)
    from .notifications import send_email
    from .scheduler import Job, register as register_jobs

    register_jobs(app, Job("notifications.email", send_email, 30))
    return app


def _refuse_unstorable_text() -> None:
    """A query or form value no database can store (NUL; PostgreSQL refuses it) is bad
    input for every route, before any view builds a query from it."""
    for where in (request.args, request.form):
        for key, value in where.items(multi=True):
            if inputs.text_problem(key) or inputs.text_problem(value):
                if request.path.startswith("/api/"):
                    raise DomainError("validation_error",
                                      f"{key}: must not contain NUL characters", 422)
                abort(400, description="The request contains characters that cannot be "
                                       "stored.")


def _request_context(app: Flask) -> None:
    @app.before_request
    def _begin():
        _refuse_unstorable_text()
        # SQLite: reads begin deferred, writes take the write lock at BEGIN.
        g.write_token = db.sqlite_write_intent.set(
            request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def _end(exc):
        token = g.pop("write_token", None)
        if token is not None:
            db.sqlite_write_intent.reset(token)

    @app.after_request
    def _content_security(resp):
        websecurity.add_headers(app, resp)
        return resp
