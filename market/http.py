"""What every request needs, whichever path answers it: the request id, the checks a
request passes before it is answered, the headers every response carries, the JSON error
body and the 500. Flask's hooks (init_app) and any WSGI shortcut that answers before
Flask (auctions.api.BidShortcut) call the same functions here, so a check or a header
added once (`checks(app).append`, `extra_headers(app).append`) applies to every path.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit
from typing import Callable, Iterable

from flask import Flask, flash, g, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .db import get_session
from .errors import DomainError

API_PATHS = "/api/"
# Every response carries these.
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"))
INTERNAL_ERROR = {"error": {"code": "internal_error",
                            "message": "unexpected error; nothing was changed"}}
_ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large",
                422: "validation_error", 429: "rate_limited"}
_RID = "market.request_id"
_CHECKS = "market.http.checks"
_HEADERS = "market.http.headers"
_CHECKED = "market.http.checked"

Check = Callable[[dict], None]  # (WSGI environ) → None, or raises DomainError to refuse
HeaderSource = Callable[[dict], Iterable[tuple[str, str]]]  # (environ) → extra headers


def request_id(environ: dict) -> str:
    """The client's X-Request-Id (64 characters at most), else a new one; the same one for
    the whole request, whichever path reads it first."""
    rid = environ.get(_RID)
    if rid is None:
        rid = environ[_RID] = environ.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
    return rid


def error_body(code: str, message: str, **extra: object) -> dict:
    """The contract's error body: {"error": {"code", "message", ...}}."""
    return {"error": {"code": code, "message": message, **extra}}


def checks(app: Flask) -> list[Check]:
    """Checks every request passes before any path answers it (e.g. a rate limit)."""
    return app.extensions[_CHECKS]


def extra_headers(app: Flask) -> list[HeaderSource]:
    """Sources of headers every response carries, besides the request id and SECURITY_HEADERS."""
    return app.extensions[_HEADERS]


def run_checks(app: Flask, environ: dict) -> None:
    """Once per request: a shortcut that runs them and then hands the request to Flask
    (not its to answer) does not have them counted twice."""
    if environ.get(_CHECKED):
        return
    environ[_CHECKED] = True
    for check in app.extensions[_CHECKS]:
        check(environ)


def response_headers(app: Flask, environ: dict) -> list[tuple[str, str]]:
    headers = [("X-Request-Id", request_id(environ)), *SECURITY_HEADERS]
    for source in app.extensions[_HEADERS]:
        headers.extend(source(environ))
    return headers


def server_error(app: Flask, environ: dict) -> dict:
    """An unexpected exception is being handled: as Flask does, re-raise it when the app
    propagates exceptions (testing, debug), else log it; the body of the 500."""
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    if propagate or (propagate is None and (app.testing or app.debug)):
        raise  # noqa: PLE0704 - called from an except block
    app.logger.exception("Exception on %s [%s]", environ.get("PATH_INFO"),
                         environ.get("REQUEST_METHOD"))
    return INTERNAL_ERROR


def json_answer(app: Flask, environ: dict, status: int, body: dict) -> tuple[str, list, bytes]:
    """A JSON answer for a path outside Flask: (status line, headers, body) rendered as
    jsonify renders it (compact), with every response's headers. `Vary: Cookie` as Flask's
    responses have it (Flask-Login reads the session on every request)."""
    data = (app.json.dumps(body, separators=(",", ":")) + "\n").encode()
    return (f"{status} {HTTP_STATUS_CODES[status].upper()}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
             *response_headers(app, environ), ("Vary", "Cookie")],
            data)


def init_app(app: Flask) -> None:
    """Flask's side: the same request id, checks, headers and error bodies."""
    app.extensions[_CHECKS] = []
    app.extensions[_HEADERS] = []

    @app.before_request
    def _begin():
        g.request_id = request_id(request.environ)
        run_checks(app, request.environ)

    @app.after_request
    def _headers(resp):
        for name, value in response_headers(app, request.environ):
            resp.headers.setdefault(name, value)
        return resp

    app.register_error_handler(DomainError, _domain_error)
    for code in (400, 401, 403, 404, 405, 409, 413, 422):
        app.register_error_handler(code, _http_error)
    app.register_error_handler(429, _too_many)
    app.register_error_handler(500, _server_error)
    app.register_error_handler(CSRFError, _csrf_failed)


def _is_api() -> bool:
    return request.path.startswith(API_PATHS)


def _domain_error(exc: DomainError):
    get_session().rollback()
    if _is_api():
        return jsonify(exc.body()), exc.status
    return _web_domain_error(exc)


def _web_domain_error(exc: DomainError):
    """A refusal on a web page: say why, back where the reader came from."""
    flash(exc.message, "error")
    return redirect(safe_next(same_site_referrer()))


def _http_error(exc: HTTPException):
    code = exc.code or 500
    if not _is_api():
        if code in (403, 404):
            return render_template("market/error.html", code=code,
                                   message=exc.description), code
        return exc
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if code in (400, 422) and messages is not None:
        return jsonify(error_body("validation_error", _flatten(messages), fields=messages)), 422
    return jsonify(error_body(_ERROR_CODES.get(code, "error"),
                              exc.description or str(exc))), code


def _too_many(exc: HTTPException):
    """429 on web pages in the reader's language; the API keeps its JSON body."""
    if _is_api():
        return _http_error(exc)
    return render_template("market/error.html", code=429, back=same_site_referrer(),
                           message=_("Too many attempts. Wait a minute and try again.")), 429


def _server_error(exc):
    if _is_api():
        return jsonify(INTERNAL_ERROR), 500
    try:
        get_session().rollback()
        return render_template("market/error.html", code=500, back=same_site_referrer(),
                               message=_("Something went wrong on our side; nothing was "
                                         "changed. Please try again.")), 500
    except Exception:  # noqa: BLE001 - the page itself must not fail
        return "500 Internal Server Error", 500


def _csrf_failed(exc: CSRFError):
    if _is_api():
        return jsonify(error_body("csrf_failed", exc.description)), 400
    # A form left open too long or posted from elsewhere: say so, write nothing.
    return render_template("market/error.html", code=400,
                           message=_("The form expired or did not come from this site. "
                                     "Nothing was changed; please try again."),
                           back=same_site_referrer()), 400


def _flatten(messages, prefix: str = "") -> str:
    parts: list[str] = []
    if isinstance(messages, dict):
        for k, v in messages.items():
            if k in ("json", "query", "form") and not prefix:
                parts.append(_flatten(v, ""))
            else:
                parts.append(_flatten(v, f"{prefix}{k}."))
    elif isinstance(messages, list):
        parts.append(f"{prefix.rstrip('.')}: " + "; ".join(str(m) for m in messages)
                     if prefix else "; ".join(str(m) for m in messages))
    else:
        parts.append(f"{prefix.rstrip('.')}: {messages}")
    return "; ".join(p for p in parts if p)


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only same-site relative paths: no scheme, no host, no '//' or backslash tricks."""
    if not target:
        return fallback
    if not target.isprintable():  # CR or LF would split the Location header
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    return target


def same_site_referrer() -> str | None:
    ref = request.referrer or ""
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else None
