"""The price index: per calendar quarter of settled_on, the median and quartiles of
price-to-value (statistics.quantiles, method "inclusive"), and the volume of prices."""
from __future__ import annotations

import statistics
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Iterable

from .sales import RATIO, Sale

INTERVALS = ("quarter",)


def quarter(sale: Sale) -> str:
    return f"{sale.settled_on.year}-Q{(sale.settled_on.month - 1) // 3 + 1}"


def quartiles(ratios: list[Decimal]) -> tuple[Decimal, Decimal, Decimal] | None:
    """(p25, median, p75) by linear interpolation between order statistics; one ratio is
    all three; none → None. Computed on the published 4-decimal ratios, so anyone can
    recompute the index from GET /market/sales."""
    if not ratios:
        return None
    if len(ratios) == 1:
        return ratios[0], ratios[0], ratios[0]
    p25, median, p75 = statistics.quantiles(sorted(ratios), n=4, method="inclusive")
    return tuple(Decimal(x).quantize(RATIO, rounding=ROUND_HALF_UP)  # type: ignore[return-value]
                 for x in (p25, median, p75))


def median(ratios: list[Decimal]) -> Decimal | None:
    q = quartiles(ratios)
    return q[1] if q else None


def by_quarter(sales: Iterable[Sale]) -> list[dict]:
    """Oldest quarter first. `n` counts the quarter's sales and `volume` sums their prices;
    the quartiles are over those whose assets had a valid valuation at the sale."""
    items = []
    ordered = sorted(sales, key=lambda s: s.settled_on)
    for period, group in groupby(ordered, key=quarter):
        rows = list(group)
        q = quartiles([s.price_to_value for s in rows if s.price_to_value is not None])
        p25, med, p75 = q if q else (None, None, None)
        items.append({"period": period, "n": len(rows), "median_price_to_value": med,
                      "p25": p25, "p75": p75,
                      "volume": sum((s.price for s in rows), Decimal("0.00"))})
    return items
