"""Inline SVG charts for the HTML reports: bars, gauges, a before/after pair, spans on a time axis, lines.

Every chart is a self-contained ``<svg>`` with a ``<title>`` and carries its data twice: as drawn
shapes and as ``data-label``/``data-value`` attributes on them (what the tests compare with the
JSON beside the page). Every figure is also written as text next to its shape, so a printed page
or a screen reader loses nothing. Output is escaped markup, safe to put in a page as is.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Mapping, Sequence

from markupsafe import Markup

PALETTE = ("#0969da", "#1a7f37", "#9a6700", "#cf222e", "#8250df", "#57606a", "#bf3989", "#0550ae")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def number(value: float | int) -> str:
    """A figure as people read it: thousands separated, at most one decimal."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _svg(chart: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" data-chart="{esc(chart)}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT}>'
        f"<title>{esc(title)}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(chart: str, title: str, values: Mapping[str, float | int], *, width: int = 560,
              colors: Mapping[str, str] | None = None) -> Markup:
    """Horizontal bars, one per label, each with its figure written at its end."""
    labels = list(values)
    top = max([*values.values(), 0]) or 1
    label_w, bar_h, gap = 150, 18, 8
    plot = width - label_w - 70
    body = []
    for i, label in enumerate(labels):
        value = values[label]
        y = 6 + i * (bar_h + gap)
        length = 0 if value <= 0 else max(1.0, plot * value / top)
        color = (colors or {}).get(label, PALETTE[i % len(PALETTE)])
        body.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{esc(label)}</text>')
        body.append(f'<rect class="bar" data-label="{esc(label)}" data-value="{esc(value)}" x="{label_w}" y="{y}" '
                    f'width="{length:.1f}" height="{bar_h}" fill="{color}"/>')
        body.append(f'<text x="{label_w + length + 5:.1f}" y="{y + 13}">{number(value)}</text>')
    height = 12 + len(labels) * (bar_h + gap)
    return _svg(chart, title, width, max(height, 30), body)


def gauge(chart: str, title: str, used: float | int, limit: float | int, *, unit: str = "calls",
          width: int = 260) -> Markup:
    """A half-circle gauge of ``used`` against ``limit``, with both figures and the share written out."""
    import math

    share = 0.0 if limit <= 0 else min(used / limit, 1.0)
    cx, cy, r = width / 2, 110, 90
    angle = math.pi * (1 - share)
    x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
    color = "#1a7f37" if share < 0.6 else "#9a6700" if share < 0.9 else "#cf222e"
    large = 0  # a half circle never needs the large arc
    body = [
        f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}" fill="none" stroke="#d0d7de" stroke-width="18"/>',
    ]
    if share > 0:
        body.append(f'<path class="gauge" data-label="used" data-value="{esc(used)}" data-limit="{esc(limit)}" '
                    f'd="M {cx - r} {cy} A {r} {r} 0 {large} 1 {x:.1f} {y:.1f}" fill="none" stroke="{color}" '
                    f'stroke-width="18"/>')
    else:
        body.append(f'<path class="gauge" data-label="used" data-value="{esc(used)}" data-limit="{esc(limit)}" '
                    f'd="M {cx - r} {cy} L {cx - r} {cy}" fill="none" stroke="{color}" stroke-width="18"/>')
    percent = 0.0 if limit <= 0 else 100 * used / limit
    body.append(f'<text x="{cx}" y="{cy - 22}" text-anchor="middle" font-size="20" font-weight="600">{percent:.1f}%</text>')
    body.append(f'<text x="{cx}" y="{cy - 4}" text-anchor="middle">{number(used)} of {number(limit)} {esc(unit)}</text>')
    body.append(f'<text x="{cx - r}" y="{cy + 18}" text-anchor="middle" fill="#57606a">0</text>')
    body.append(f'<text x="{cx + r}" y="{cy + 18}" text-anchor="middle" fill="#57606a">{number(limit)}</text>')
    return _svg(chart, title, width, 135, body)


@dataclass(frozen=True)
class Span:
    """One row on a time axis: a label, when it started and when it ended (seconds from the start)."""

    label: str
    start: float
    end: float
    start_note: str = ""
    end_note: str = ""


def timeline(chart: str, title: str, spans: Sequence[Span], *, width: int = 760, unit: str = "s",
             start_name: str = "start", end_name: str = "end") -> Markup:
    """Rows of spans on one time axis: a dot where each starts, a diamond where it ends, a line between."""
    label_w, row_h = 10 + 7 * max([len(s.label) for s in spans] + [12]), 16
    plot = width - label_w - 70
    last = max([s.end for s in spans] + [s.start for s in spans] + [0.0]) or 1.0

    def at(t: float) -> float:
        return label_w + plot * t / last

    body = []
    for i, span in enumerate(spans):
        y = 24 + i * row_h
        body.append(f'<text x="{label_w - 6}" y="{y + 4}" text-anchor="end">{esc(span.label)}</text>')
        body.append(f'<g class="span" data-label="{esc(span.label)}" data-start="{span.start:.3f}" data-end="{span.end:.3f}">'
                    f'<line x1="{at(span.start):.1f}" y1="{y}" x2="{at(span.end):.1f}" y2="{y}" stroke="#8c959f" stroke-width="2"/>'
                    f'<circle cx="{at(span.start):.1f}" cy="{y}" r="4" fill="#9a6700"><title>{esc(start_name)} {span.start:.2f} {esc(unit)}'
                    f'{" " + esc(span.start_note) if span.start_note else ""}</title></circle>'
                    f'<rect x="{at(span.end) - 4:.1f}" y="{y - 4}" width="8" height="8" fill="#1a7f37" '
                    f'transform="rotate(45 {at(span.end):.1f} {y})"><title>{esc(end_name)} {span.end:.2f} {esc(unit)}'
                    f'{" " + esc(span.end_note) if span.end_note else ""}</title></rect></g>')
        body.append(f'<text x="{at(max(span.start, span.end)) + 8:.1f}" y="{y + 4}" fill="#57606a">'
                    f'+{span.end - span.start:.2f} {esc(unit)}</text>')
    axis_y = 24 + len(spans) * row_h
    body.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot}" y2="{axis_y}" stroke="#57606a"/>')
    digits = 2 if last < 2 else 1 if last < 20 else 0
    for k in range(5):
        t = last * k / 4
        body.append(f'<text x="{at(t):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#57606a">'
                    f'{t:.{digits}f} {esc(unit)}</text>')
    body.append(f'<circle cx="{label_w + 4}" cy="8" r="4" fill="#9a6700"/><text x="{label_w + 12}" y="12">{esc(start_name)}</text>')
    body.append(f'<rect x="{label_w + 150}" y="4" width="8" height="8" fill="#1a7f37" transform="rotate(45 {label_w + 154} 8)"/>'
                f'<text x="{label_w + 162}" y="12">{esc(end_name)}</text>')
    return _svg(chart, title, width, axis_y + 22, body)


def line_chart(chart: str, title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[float | int]], *,
               width: int = 760, height: int = 220) -> Markup:
    """One polyline per series over the same x labels (runs, days), each point's figure in its title."""
    left, right, top_pad, bottom = 60, 60, 24, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max([v for values in series.values() for v in values] + [0]) or 1
    n = max(len(x_labels), 1)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top_pad + plot_h * (1 - v / top)

    body = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#57606a"/>',
            f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#57606a"/>',
            f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" fill="#57606a">{number(top)}</text>',
            f'<text x="{left - 6}" y="{top_pad + plot_h + 4}" text-anchor="end" fill="#57606a">0</text>']
    step = max(1, -(-n // 6))  # at most about six labels on the axis
    for i, label in enumerate(x_labels):
        if i % step == 0 or (i == n - 1 and (n - 1) % step > step // 2):
            body.append(f'<text x="{px(i):.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" fill="#57606a">{esc(label)}</text>')
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(values))
        body.append(f'<g class="series" data-label="{esc(name)}" data-values="{esc(",".join(str(v) for v in values))}">')
        if len(values) > 1:
            body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, v in enumerate(values):
            body.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"><title>{esc(name)} '
                        f'{esc(x_labels[i] if i < len(x_labels) else i)}: {number(v)}</title></circle>')
        body.append("</g>")
        legend_x = left + 10 + sum(40 + 7 * len(other) for other in list(series)[:k])
        body.append(f'<rect x="{legend_x}" y="4" width="10" height="10" fill="{color}"/>'
                    f'<text x="{legend_x + 14}" y="13">{esc(name)}</text>')
    return _svg(chart, title, width, height, body)
