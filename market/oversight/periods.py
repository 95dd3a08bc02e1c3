"""Calendar quarters, written "2026-Q3" (API.md: the period of an overall NPL ratio, of the
NPL position and of a report)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..errors import Invalid

_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")
# API.md Conventions: dates before 1990-01-01 or after 2199-12-31 are refused.
FIRST_YEAR, LAST_YEAR = 1990, 2199


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, raw: str) -> "Quarter":
        m = _PERIOD.match(raw.strip()) if isinstance(raw, str) else None
        if m is None or not FIRST_YEAR <= int(m.group(1)) <= LAST_YEAR:
            raise Invalid("invalid_period",
                          f"period must be a quarter such as 2026-Q3, not {raw!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.q}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.q - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> "Quarter":
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)

    def contains(self, day: dt.date | None) -> bool:
        return day is not None and self.first_day <= day <= self.last_day

    def position_date(self, today: dt.date) -> dt.date:
        """The day a quarter's figures are taken on: its last day, or today while it runs."""
        return min(self.last_day, today)


def last_quarters(today: dt.date, n: int) -> list[Quarter]:
    """The n quarters up to and including today's, oldest first."""
    out = [Quarter.of(today)]
    while len(out) < n:
        out.append(out[-1].previous())
    return list(reversed(out))
