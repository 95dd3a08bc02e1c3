"""POST /api/v1/stripe/webhook — no bearer token; Stripe's signature is the proof.

1. Verify with stripe.Webhook.construct_event (STRIPE_WEBHOOK_SECRET, 5-minute tolerance:
   a replayed old delivery fails) → 400 otherwise.
2. Re-read the object from Stripe: events may arrive out of order or late, so we act on
   the object's current state, never on the state the event carried.
3. Store the event by its id (StripeEvent) in the same transaction as its effect: a
   duplicate delivery finds the id taken and is answered 200 without doing anything.
4. Dispatch on the object's metadata.kind: "balance" here (succeeded → paid and settled);
   any other kind → hooks "payments.webhook.<kind>" (deposits.py handles "deposit").
"""
from __future__ import annotations

import json

import stripe
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from .. import audit, hooks
from ..api import API_PREFIX
from ..db import get_session
from ..errors import DomainError
from ..inputs import bad_strings, check_json_shape
from ..timeutil import utcnow
from . import services
from .gateway import gateway_for
from .models import StripeEvent

bp = Blueprint("stripe_webhook", __name__, url_prefix=API_PREFIX)


def _error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.post("/stripe/webhook")
def stripe_webhook():
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return _error(404, "not_found", "Stripe is not configured")
    payload = request.get_data(as_text=True)
    try:
        check_json_shape(payload.encode("utf-8", "surrogatepass"))
        event = stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature"),
                                               secret)
    except stripe.SignatureVerificationError:
        return _error(400, "invalid_signature", "the Stripe signature does not verify")
    except (ValueError, TypeError, AttributeError, KeyError):
        return _error(400, "malformed_json", "the event is not valid JSON")
    data = json.loads(payload)
    shape = _event_shape(data)
    if shape is None:
        # Signed, so Stripe (or whoever holds the secret) sent it: refuse it plainly.
        return _error(400, "malformed_event", "the event does not have Stripe's shape")
    obj, kind = shape
    current = obj
    if obj.get("object") == "payment_intent" and obj.get("id") and kind:
        # Outside any transaction: a network call must not hold database locks.
        gateway = gateway_for("stripe", current_app.config)
        current = gateway.retrieve_object(obj["id"])

    s = get_session()
    row = StripeEvent(id=event.id, type=event.type, object_id=obj.get("id"), payload=payload,
                      created=int(data.get("created") or 0), received_at=utcnow())
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        s.rollback()
        return jsonify({"received": True, "duplicate": True}), 200
    try:
        with s.begin_nested():
            result = dispatch(s, event.type, kind, current)
    except DomainError as exc:
        # Refused by our rules (e.g. the sale had defaulted): keep the event and what
        # happened, answer 200 so Stripe stops retrying; an operator sees the audit.
        result = f"refused: {exc.code}: {exc.message}"
        audit.record(s, "stripe.event_refused", "stripe_event", None,
                     after={"event": event.id, "code": exc.code})
    row.applied_at = utcnow()
    row.result = result[:2000]
    s.commit()
    return jsonify({"received": True, "result": result}), 200


def _event_shape(data: object) -> tuple[dict, str | None] | None:
    """(object, metadata kind) of a well-formed event, else None: every field we read has
    the type Stripe gives it, so nothing below trips over a signed but odd payload."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) \
            or not isinstance(data.get("type"), str) \
            or not isinstance(data.get("created", 0), int) or isinstance(data.get("created"), bool):
        return None
    inner = data.get("data", {})
    obj = inner.get("object", {}) if isinstance(inner, dict) else None
    if not isinstance(obj, dict) or bad_strings(data):
        return None
    meta = obj.get("metadata") or {}
    if not isinstance(meta, dict) or not isinstance(obj.get("id", ""), (str, type(None))):
        return None
    kind = meta.get("kind")
    if kind is not None and not isinstance(kind, str):
        return None
    if not all(isinstance(v, str) for v in meta.values()):
        return None
    return obj, kind


def dispatch(session, event_type: str, kind: str | None, obj: dict) -> str:
    if kind in services.WEBHOOK_KIND.values():
        payment = services.payment_by_provider_ref(session, obj.get("id", ""))
        if payment is None:
            return "unknown payment"
        return services.apply_stripe_state(session, payment, obj.get("status", ""))
    if kind:
        results = hooks.fire(f"payments.webhook.{kind}", session, event_type, obj)
        return f"{kind}: {len(results)} handler(s)"
    return "ignored"
