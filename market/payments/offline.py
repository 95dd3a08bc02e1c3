"""Bank transfer with a reference code: the buyer quotes the reference on the transfer,
an operator matches it against the bank statement and confirms. Nothing external to
call, so every step answers at once; `pending` lasts until an operator confirms."""
from __future__ import annotations

import secrets
from decimal import Decimal

from .gateway import GatewayResult

# No 0/O/1/I: references are read off bank statements by people.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference(prefix: str = "P") -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(10))


class OfflineGateway:
    name = "offline"

    def hold(self, *, amount: Decimal, currency: str, idempotency_key: str,
             description: str, metadata: dict[str, str]) -> GatewayResult:
        return GatewayResult(None, "pending")

    def capture(self, provider_ref: str, *, amount: Decimal | None,
                idempotency_key: str) -> GatewayResult:
        return GatewayResult(provider_ref, "paid")

    def cancel(self, provider_ref: str, *, idempotency_key: str) -> GatewayResult:
        return GatewayResult(provider_ref, "released")

    def charge(self, *, amount: Decimal, currency: str, idempotency_key: str,
               description: str, metadata: dict[str, str]) -> GatewayResult:
        return GatewayResult(None, "pending")

    def retrieve(self, provider_ref: str) -> GatewayResult:
        return GatewayResult(provider_ref, "pending")
