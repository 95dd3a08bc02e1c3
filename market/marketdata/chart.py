"""The price index as an inline SVG (server-side: no chart library, no script): per
quarter the p25–p75 band, the median line and its points, and the volume as bars."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD, LEFT, BOTTOM, BARS = 640, 260, 12, 48, 28, 50


def index_chart(items: list[dict]) -> Markup | None:
    """`items` as index.by_quarter returns them (oldest first); None when empty."""
    points = [i for i in items if i["median_price_to_value"] is not None]
    if not items:
        return None
    top = max([Decimal("1")] + [i["p75"] for i in points]) * Decimal("1.1")
    most = max(i["volume"] for i in items) or Decimal(1)
    plot_h = HEIGHT - BOTTOM - PAD - BARS
    step = (WIDTH - LEFT - PAD) / max(len(items), 1)

    def x(k: int) -> float:
        return LEFT + step * (k + 0.5)

    def y(r: Decimal) -> float:
        return PAD + plot_h - float(r / top) * plot_h

    where = {i["period"]: k for k, i in enumerate(items)}
    parts = [f'<svg class="chart" width="100%" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(_("Price-to-value index by quarter"))}" '
             f'data-test="index-chart" preserveAspectRatio="xMinYMin meet">']
    for tick in (Decimal("0.5"), Decimal("1"), Decimal("1.5"), Decimal("2")):
        if tick <= top:
            parts.append(f'<line x1="{LEFT}" x2="{WIDTH - PAD}" y1="{y(tick):.1f}" '
                         f'y2="{y(tick):.1f}" stroke="#dde1e6"/>'
                         f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="10" '
                         f'text-anchor="end">{tick:.1f}×</text>')
    if points:
        upper = " ".join(f"{x(where[i['period']]):.1f},{y(i['p75']):.1f}" for i in points)
        lower = " ".join(f"{x(where[i['period']]):.1f},{y(i['p25']):.1f}"
                         for i in reversed(points))
        parts.append(f'<polygon points="{upper} {lower}" fill="#0b57d0" fill-opacity=".15" '
                     f'data-test="index-band"/>')
        line = " ".join(f"{x(where[i['period']]):.1f},{y(i['median_price_to_value']):.1f}"
                        for i in points)
        parts.append(f'<polyline fill="none" stroke="#0b57d0" stroke-width="2" points="{line}"/>')
    base = HEIGHT - BOTTOM
    for k, i in enumerate(items):
        h = float(i["volume"] / most) * (BARS - 6)
        label = escape(_("%(period)s: median %(median)s (p25 %(p25)s, p75 %(p75)s), %(n)s "
                         "sales, volume %(volume)s", period=i["period"],
                         median=i["median_price_to_value"] or "—", p25=i["p25"] or "—",
                         p75=i["p75"] or "—", n=i["n"], volume=f"{i['volume']:,.2f}"))
        parts.append(f'<rect x="{x(k) - step * 0.3:.1f}" y="{base - h:.1f}" '
                     f'width="{step * 0.6:.1f}" height="{h:.1f}" fill="#b3261e" '
                     f'fill-opacity=".35"><title>{label}</title></rect>')
        if i["median_price_to_value"] is not None:
            parts.append(f'<circle cx="{x(k):.1f}" cy="{y(i["median_price_to_value"]):.1f}" '
                         f'r="3.5" fill="#0b57d0"><title>{label}</title></circle>')
        if len(items) <= 12 or k % 2 == 0:
            parts.append(f'<text x="{x(k):.1f}" y="{HEIGHT - 8}" font-size="10" '
                         f'text-anchor="middle">{escape(i["period"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
