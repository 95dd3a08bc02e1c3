"""The /api/v1 plumbing: flask-smorest (marshmallow schemas validate requests and
generate /api/openapi.json), the contract's error body, bearer-token auth, paging.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Callable

from flask import Flask, g, jsonify, request
from flask_smorest import Api, Blueprint  # noqa: F401  (re-exported for packages)
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import Schema, missing, ValidationError, fields, post_load, validate
from sqlalchemy import func, select
from webargs.flaskparser import FlaskParser

from .accounts.models import User
from .accounts.services import user_for_token
from .db import get_session
from .errors import DomainError
from .extensions import csrf
from .http import error_body
from .inputs import NO_SUCH_ID, BadInput, load_json, problems
from .money import parse_amount
from . import openapi_ops

API_PREFIX = "/api/v1"
_RATE = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,30})?")


class ExchangeParser(FlaskParser):
    """A malformed body is bad input (422), not a 400; JSON numbers parse as Decimal.
    Every body and query is held to market.inputs' bounds (JSON depth, dates, ids, text)."""

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise DomainError("malformed_json", "request body is not valid JSON", 422)

    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        if not data:
            return missing
        if req.mimetype != "application/json":
            raise DomainError("malformed_json", "request body must be application/json", 422)
        try:
            return load_json(data)
        except BadInput as exc:
            raise DomainError("malformed_json", str(exc), 422) from exc

    def _process_location_data(self, location_data, schema, req, location, unknown,
                               validators):
        data = super()._process_location_data(location_data, schema, req, location, unknown,
                                              validators)
        found = problems(data)
        # An id no row can have is an object that does not exist: 404, as for any id
        # (API.md Conventions), once the rest of the body is valid.
        if found and all(msgs == [NO_SUCH_ID] for msgs in found.values()):
            raise DomainError("not_found", f"{', '.join(found)}: no such object", 404)
        if found:
            raise ValidationError(found)
        return data


ArgumentsMixin.ARGUMENTS_PARSER = ExchangeParser()


class MoneyField(fields.Field):
    """Money: a string with at most two decimals (an exact JSON number is accepted too)."""

    def __init__(self, **kw):
        kw.setdefault("metadata", {}).update(
            {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "example": "1234.50"})
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):  # never: our JSON provider parses numbers as Decimal
            value = Decimal(repr(value))
        try:
            return parse_amount(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{Decimal(value):.2f}"


class RateField(fields.Field):
    """A rate or share as a decimal string ("0.0435"), 0 ≤ x ≤ 1."""

    def __init__(self, **kw):
        kw.setdefault("metadata", {}).update(
            {"type": "string", "pattern": r"^\d+(\.\d+)?$", "example": "0.0435"})
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ValidationError("must be a decimal string")
        if isinstance(value, str) and not _RATE.fullmatch(value.strip(" \t")):
            raise ValidationError("must be ASCII digits like \"0.0435\"")
        try:
            d = Decimal(str(value).strip())
        except Exception as exc:  # noqa: BLE001
            raise ValidationError("not a number") from exc
        if not d.is_finite() or d < 0 or d > 1:
            raise ValidationError("must be between 0 and 1")
        if d.as_tuple().exponent < -10:  # type: ignore[operator]
            raise ValidationError("too many decimal places")
        return d

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1))

    @post_load
    def clamp(self, data, **kw):
        data["per_page"] = min(data["per_page"], 100)
        return data


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "snake_case error code"})
    message = fields.String(required=True, metadata={"description": "human-readable text"})
    fields = fields.Dict(metadata={"description": "per-field problems (validation errors)"})


class ErrorSchema(Schema):
    """The contract's error body: {"error": {"code", "message"}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class ExchangeApi(Api):
    """flask-smorest documents (and, as a last resort, renders) errors in our shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        code = error.code or 500
        return jsonify(error_body("error", error.description or str(error))), code


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The list envelope of API.md: {items, total, page, per_page}."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )


def paginate(session, stmt, page: int, per_page: int) -> dict:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


def error(status: int, code: str, message: str):
    return jsonify(error_body(code, message)), status


def _bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return user_for_token(get_session(), header[7:].strip())


def api_user() -> User | None:
    return g.get("api_user")


def api_auth(*roles: str, optional: bool = False) -> Callable:
    """401 without a valid token (unless optional), 403 for a role not allowed.

    Put it above @blp.arguments so auth is checked before the body (API.md order).
    """

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = _bearer_user()
            if user is None and (not optional or "Authorization" in request.headers):
                return error(401, "unauthorized", "a valid bearer token is required")
            if user is not None and roles and user.role not in roles:
                return error(403, "forbidden", f"this call is for: {', '.join(roles)}")
            g.api_user = user
            session = get_session()
            session.info["actor_id"] = user.id if user else None
            return view(*args, **kwargs)

        return wrapper

    return deco


def init_app(app: Flask) -> Api:
    api = ExchangeApi(app, spec_kwargs={
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        **openapi_ops.spec_kwargs(),
    })
    app.extensions["market.api"] = api
    return api


def register(app: Flask, blp: Blueprint) -> None:
    """Register an API blueprint. The API authenticates by bearer token only (never by
    cookie), so cross-site request forgery cannot ride on it: CSRF is for the web forms."""

    csrf.exempt(blp)
    app.extensions["market.api"].register_blueprint(blp)
