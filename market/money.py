"""Money is Decimal end to end: two places, half-up, stored as integer cents."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Larger than any plausible IP deal, small enough to stay exact in a BIGINT of cents.
MAX_AMOUNT = Decimal("1000000000000.00")


def cents(value: Decimal | int | str) -> Decimal:
    """Round half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor(value: Decimal) -> int:
    """Decimal yuan → integer fen (Stripe's minor units, and our storage)."""
    q = Decimal(value).quantize(CENT)
    if q != Decimal(value):
        raise ValueError(f"{value} has more than two decimal places")
    return int(q * 100)


def from_minor(value: int) -> Decimal:
    return (Decimal(int(value)) / 100).quantize(CENT)


def parse_amount(raw: object) -> Decimal:
    """Parse an amount as the API accepts it: a decimal string (or exact JSON number)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ValueError("amount must be a decimal string like \"1234.50\"")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError("amount is not a number") from exc
    if not value.is_finite():
        raise ValueError("amount is not a finite number")
    if value < 0:
        raise ValueError("amount must not be negative")
    if value > MAX_AMOUNT:
        raise ValueError("amount is too large")
    if value != value.quantize(CENT):
        raise ValueError("amount has more than two decimal places")
    return value.quantize(CENT)


def fmt(value: Decimal | None) -> str | None:
    return None if value is None else str(cents(value))
