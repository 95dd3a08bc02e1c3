"""A small inline SVG of a bank's last quarters: its IP-pledge NPL ratio, its overall
ratio and the tolerance line above it. Drawn on the server: no chart library, no script."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from markupsafe import Markup, escape

from .periods import Quarter

WIDTH, HEIGHT, PAD_X, PAD_Y = 480, 160, 40, 20
# Presentation attributes, so the chart needs no stylesheet: colour and dash per series.
STYLE = {"ip": ('#c0392b', ''), "overall": ('#2c6e9b', ''),
         "limit": ('#b9770e', ' stroke-dasharray="4 3"')}


def _points(values: list[Decimal | None], top: Decimal) -> list[tuple[float, float] | None]:
    step = (WIDTH - 2 * PAD_X) / max(len(values) - 1, 1)
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        y = HEIGHT - PAD_Y - float(v / top) * (HEIGHT - 2 * PAD_Y)
        out.append((PAD_X + i * step, y))
    return out


def _line(points, css: str) -> str:
    """One polyline per run of known values (a gap where a figure is null)."""
    runs, run = [], []
    for p in points + [None]:
        if p is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(p)
    out = []
    for r in runs:
        colour, dash = STYLE[css]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in r)
        out.append(f'<polyline class="{css}" points="{coords}" fill="none" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.extend(f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                   for x, y in r)
    return "".join(out)


def quarters_chart(series: list[tuple[Quarter, dict]], tolerance_pp: Decimal) -> Markup:
    pct = Decimal(100)
    ip = [None if p["ip_npl_ratio"] is None else p["ip_npl_ratio"] * pct for _q, p in series]
    overall = [None if p["overall_npl_ratio"] is None else p["overall_npl_ratio"] * pct
               for _q, p in series]
    limit = [None if o is None else o + tolerance_pp for o in overall]
    top = max([v for v in ip + limit if v is not None] + [Decimal(1)])
    top = Decimal(int(top) + 1)
    labels = []
    step = (WIDTH - 2 * PAD_X) / max(len(series) - 1, 1)
    for i, (q, _p) in enumerate(series):
        labels.append(f'<text x="{PAD_X + i * step:.1f}" y="{HEIGHT - 4}" '
                      f'text-anchor="middle">{escape(str(q))}</text>')
    axis = (f'<text x="4" y="{PAD_Y + 4}">{top}%</text>'
            f'<text x="4" y="{HEIGHT - PAD_Y}">0%</text>'
            f'<line class="axis" x1="{PAD_X}" y1="{HEIGHT - PAD_Y}" x2="{WIDTH - PAD_X}" '
            f'y2="{HEIGHT - PAD_Y}" stroke="#999"/>')
    title = escape(_("IP-pledge NPL ratio against the overall ratio and the tolerance, "
                     "last %(n)s quarters", n=len(series)))
    svg = (f'<svg class="npl-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="100%" font-size="10" fill="#555" data-test="npl-chart"><title>{title}</title>{axis}'
           f'{_line(_points(limit, top), "limit")}{_line(_points(overall, top), "overall")}'
           f'{_line(_points(ip, top), "ip")}{"".join(labels)}</svg>')
    return Markup(svg)
