"""Money is Decimal end to end: two places, half-up, stored as integer cents."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Larger than any plausible IP deal, small enough to stay exact in a BIGINT of cents.
MAX_AMOUNT = Decimal("1000000000000.00")
_AMOUNT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,2})?")
_DIGITS_DOT = re.compile(r"[0-9]{1,20}\.[0-9]+")


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
    """Parse an amount as the API accepts it: ASCII digits with at most two decimals
    ("1234.50"), or an exact JSON number. Python's Decimal would also take "1e3", "1_000",
    full-width or Arabic-Indic digits; money typed or sent by a system never looks so."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ValueError("amount must be a decimal string like \"1234.50\"")
    if isinstance(raw, str):
        text = raw.strip(" \t")
        if text.startswith("-") and _AMOUNT.fullmatch(text[1:]):
            raise ValueError("amount must not be negative")
        if not _AMOUNT.fullmatch(text):
            if _DIGITS_DOT.fullmatch(text):
                raise ValueError("amount has more than two decimal places")
            raise ValueError("amount must be ASCII digits with at most two decimals, "
                             "like \"1234.50\"")
        raw = text
    try:
        value = Decimal(str(raw))
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
