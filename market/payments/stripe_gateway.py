"""Stripe through the official `stripe` library (StripeClient; STRIPE_API_BASE points it
at localstripe in tests and demos).

Deposits are PaymentIntents with capture_method=manual: capture applies or forfeits
a deposit, cancel releases it. A balance is an ordinary (automatic-capture)
PaymentIntent. Every create passes our deterministic idempotency key, which the caller
has persisted on its row before the call; since a Stripe stand-in may ignore the key,
callers must also never ask twice for one intent (see payments.services). When a
payment method id is known (from Stripe.js on the client, or a test method such as
"pm_card_visa") it is passed at create with confirm=True; otherwise the client confirms
with the client_secret.
"""
from __future__ import annotations

from decimal import Decimal

import stripe

from ..errors import DomainError
from ..money import to_minor
from .gateway import GatewayResult

_STATUS = {
    "requires_payment_method": "pending",
    "requires_confirmation": "pending",
    "requires_action": "pending",
    "processing": "pending",
    "requires_capture": "held",
    "succeeded": "paid",
    "canceled": "released",
}


def status_of(pi_status: str | None) -> str:
    return _STATUS.get(pi_status or "", "pending")


class StripeGateway:
    name = "stripe"

    def __init__(self, secret_key: str, api_base: str | None = None,
                 payment_method: str | None = None) -> None:
        self.client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0)
        self.payment_method = payment_method

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise DomainError("payment_declined", exc.user_message or "the card was declined",
                              422) from exc
        except stripe.APIConnectionError as exc:
            raise DomainError("gateway_unavailable",
                              "the card processor did not answer; try again", 503) from exc
        except stripe.StripeError as exc:
            raise DomainError("gateway_error", exc.user_message or str(exc), 422) from exc

    @staticmethod
    def _result(pi) -> GatewayResult:
        return GatewayResult(pi.id, status_of(pi.status), getattr(pi, "client_secret", None))

    def _create(self, *, amount: Decimal, currency: str, idempotency_key: str,
                description: str, metadata: dict[str, str], manual: bool,
                payment_method: str | None) -> GatewayResult:
        # description travels in metadata: the test stand-in refuses the field.
        params: dict = {"amount": to_minor(amount), "currency": currency.lower(),
                        "metadata": {**{k: str(v) for k, v in metadata.items()},
                                     "description": description[:450],
                                     "idempotency_key": idempotency_key}}
        if manual:
            params["capture_method"] = "manual"
        pm = payment_method or self.payment_method
        if pm:
            params["payment_method"] = pm
            params["confirm"] = True
        pi = self._call(self.client.v1.payment_intents.create, params,
                        {"idempotency_key": idempotency_key})
        return self._result(pi)

    def hold(self, *, amount: Decimal, currency: str, idempotency_key: str,
             description: str, metadata: dict[str, str],
             payment_method: str | None = None) -> GatewayResult:
        return self._create(amount=amount, currency=currency, idempotency_key=idempotency_key,
                            description=description, metadata=metadata, manual=True,
                            payment_method=payment_method)

    def charge(self, *, amount: Decimal, currency: str, idempotency_key: str,
               description: str, metadata: dict[str, str],
               payment_method: str | None = None) -> GatewayResult:
        return self._create(amount=amount, currency=currency, idempotency_key=idempotency_key,
                            description=description, metadata=metadata, manual=False,
                            payment_method=payment_method)

    def capture(self, provider_ref: str, *, amount: Decimal | None,
                idempotency_key: str) -> GatewayResult:
        params = {} if amount is None else {"amount_to_capture": to_minor(amount)}
        pi = self._call(self.client.v1.payment_intents.capture, provider_ref, params,
                        {"idempotency_key": idempotency_key})
        return self._result(pi)

    def cancel(self, provider_ref: str, *, idempotency_key: str) -> GatewayResult:
        pi = self._call(self.client.v1.payment_intents.cancel, provider_ref, {},
                        {"idempotency_key": idempotency_key})
        return self._result(pi)

    def retrieve(self, provider_ref: str) -> GatewayResult:
        return self._result(self._call(self.client.v1.payment_intents.retrieve, provider_ref))

    def retrieve_object(self, provider_ref: str) -> dict:
        """The PaymentIntent as a plain dict (for webhook handlers)."""
        pi = self._call(self.client.v1.payment_intents.retrieve, provider_ref)
        return pi.to_dict()

    def find_by_idempotency_key(self, idempotency_key: str) -> GatewayResult | None:
        """Recover an intent created by a call whose answer we never stored (a crash
        between Stripe's answer and our commit): look it up by the key in its metadata."""
        page = self._call(self.client.v1.payment_intents.list, {"limit": 100})
        for pi in page.auto_paging_iter():
            if pi.to_dict().get("metadata", {}).get("idempotency_key") == idempotency_key:
                return self._result(pi)
        return None
