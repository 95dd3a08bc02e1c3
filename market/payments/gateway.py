"""One gateway interface, two implementations: `offline` (bank transfer with a reference
code, confirmed by an operator; the embedded default) and `stripe`.

Callers persist their row (with a deterministic idempotency key) and commit BEFORE
calling a gateway, never call it inside a transaction that holds a hot lock, and record
the result in a second transaction. Gateways never touch the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from ..errors import Invalid


@dataclass(frozen=True)
class GatewayResult:
    provider_ref: str | None  # Stripe PaymentIntent id; None offline
    status: str  # pending | held | paid | released | failed
    client_secret: str | None = None


class Gateway(Protocol):
    name: str

    def hold(self, *, amount: Decimal, currency: str, idempotency_key: str,
             description: str, metadata: dict[str, str]) -> GatewayResult:
        """Reserve a deposit (Stripe: a manual-capture PaymentIntent)."""

    def capture(self, provider_ref: str, *, amount: Decimal | None,
                idempotency_key: str) -> GatewayResult:
        """Take a held deposit (apply it to a price, or forfeit it)."""

    def cancel(self, provider_ref: str, *, idempotency_key: str) -> GatewayResult:
        """Release a held deposit."""

    def charge(self, *, amount: Decimal, currency: str, idempotency_key: str,
               description: str, metadata: dict[str, str]) -> GatewayResult:
        """Ask for a payment (the balance of a price)."""

    def retrieve(self, provider_ref: str) -> GatewayResult:
        """Re-read the object's current state (out-of-order webhooks)."""


def check_card_limit(amount: Decimal, config) -> None:
    """A card charge above STRIPE_MAX_AMOUNT cannot be made: say so before any call, and
    point to the bank transfer (the offline method has no limit)."""
    limit = Decimal(config.get("STRIPE_MAX_AMOUNT") or "999999.99")
    if amount > limit:
        raise Invalid("card_limit_exceeded",
                      f"{amount:.2f} is above the card limit of {limit:.2f}; "
                      "pay by bank transfer (method offline)", limit=f"{limit:.2f}")


def gateway_for(method: str, config) -> Gateway:
    """The gateway for a method; `stripe` without STRIPE_SECRET_KEY → 422 method_unavailable.

    Implemented in market/payments/offline.py and stripe_gateway.py.
    """
    if method == "offline":
        from .offline import OfflineGateway  # cycle: offline imports this module

        return OfflineGateway()
    if method == "stripe":
        if not config.get("STRIPE_SECRET_KEY"):
            raise Invalid("method_unavailable", "card payments (Stripe) are not configured")
        from .stripe_gateway import StripeGateway  # cycle: stripe_gateway imports this module

        # STRIPE_PAYMENT_METHOD (e.g. "pm_card_visa" against localstripe) confirms intents
        # server-side; without it the client confirms with the client_secret.
        return StripeGateway(config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE") or None,
                             config.get("STRIPE_PAYMENT_METHOD") or None)

    raise Invalid("invalid_method", "method must be offline or stripe")
