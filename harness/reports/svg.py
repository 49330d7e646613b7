"""Inline SVG charts for the HTML report, drawn by hand so the page needs no script or asset.

Each function takes one chart dict (see `harness.result`) and returns an `<svg>` string; every
piece of text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from mlops.spec.threshold import format_number

WIDTH = 640
BLUE, RED, GREY, AMBER = "#3b6fb6", "#c9372c", "#888", "#d08c00"


def render(chart: dict[str, Any]) -> str:
    """The SVG for a chart of any known kind ('' for an unknown kind)."""
    drawers = {"bars": bars, "percentiles": percentiles, "series": series,
               "histogram": histogram, "heatmap": heatmap}
    drawer = drawers.get(str(chart.get("kind")))
    return drawer(chart) if drawer else ""


def _svg(height: float, title: str, body: list[str]) -> str:
    return (f'<svg width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>'
            f'<text x="8" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'
            + "".join(body) + "</svg>")


def _num(value: float) -> str:
    return format_number(round(value, 4)) if math.isfinite(value) else "NaN"


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def bars(chart: dict[str, Any]) -> str:
    """Horizontal bars, one per label, with the threshold as a dashed line."""
    labels: list[str] = chart["labels"]
    values: list[float] = chart["values"]
    threshold = chart.get("threshold")
    worse_high = bool(chart.get("higher_is_worse", True))
    top, row, left, right = 28, 18, 200, 70
    scale_max = max(_finite([*values, threshold or 0.0]) or [1.0]) or 1.0
    span = WIDTH - left - right
    body = []
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        y = top + index * row
        length = span * max(0.0, value) / scale_max if math.isfinite(value) else 0.0
        beyond = threshold is not None and (value > threshold if worse_high else value < threshold)
        body.append(f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                    f"{escape(label)}</text>"
                    f'<rect x="{left}" y="{y + 2}" width="{length:.1f}" height="{row - 5}" '
                    f'fill="{RED if beyond else BLUE}"/>'
                    f'<text x="{left + length + 4:.1f}" y="{y + 12}" font-size="10">'
                    f"{_num(value)}</text>")
    height = top + row * len(labels) + 8
    if threshold is not None:
        x = left + span * threshold / scale_max
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 6}" '
                    f'stroke="{AMBER}" stroke-dasharray="4 3"/>')
    return _svg(height, str(chart.get("title", "")), body)


def percentiles(chart: dict[str, Any]) -> str:
    """Vertical bars per percentile with a red tick at each SLO."""
    labels: list[str] = chart["labels"]
    values: list[float] = chart["values"]
    slo: dict[str, float] = chart.get("slo", {})
    unit = str(chart.get("unit", ""))
    height, top, bottom, left = 220, 28, 30, 50
    scale_max = max(_finite([*values, *slo.values()]) or [1.0]) or 1.0
    plot = height - top - bottom
    slot = (WIDTH - left - 20) / max(1, len(labels))
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 10}" y2="{height - bottom}" '
            f'stroke="{GREY}"/>']
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        x = left + index * slot + slot * 0.2
        size = plot * max(0.0, value) / scale_max if math.isfinite(value) else 0.0
        over = label in slo and value >= slo[label]
        body.append(f'<rect x="{x:.1f}" y="{height - bottom - size:.1f}" width="{slot * 0.6:.1f}" '
                    f'height="{size:.1f}" fill="{RED if over else BLUE}"/>'
                    f'<text x="{x + slot * 0.3:.1f}" y="{height - bottom + 14}" font-size="11" '
                    f'text-anchor="middle">{escape(label)}</text>'
                    f'<text x="{x + slot * 0.3:.1f}" y="{height - bottom - size - 4:.1f}" '
                    f'font-size="10" text-anchor="middle">{_num(value)} {escape(unit)}</text>')
        if label in slo:
            y = height - bottom - plot * slo[label] / scale_max
            body.append(f'<line x1="{x - 4:.1f}" y1="{y:.1f}" x2="{x + slot * 0.6 + 4:.1f}" '
                        f'y2="{y:.1f}" stroke="{AMBER}" stroke-width="2" stroke-dasharray="5 2"/>'
                        f'<text x="{x + slot * 0.6 + 6:.1f}" y="{y + 4:.1f}" font-size="10" '
                        f'fill="{AMBER}">SLO {_num(slo[label])}</text>')
    return _svg(height, str(chart.get("title", "")), body)


def series(chart: dict[str, Any]) -> str:
    """Lines over x (e.g. requests/s over time), with min/max labels on both axes."""
    xs: list[float] = chart["x"]
    lines: dict[str, list[float]] = chart["series"]
    height, top, bottom, left, right = 220, 28, 34, 56, 16
    all_y = _finite([v for values in lines.values() for v in values]) or [0.0]
    y_low, y_high = min(0.0, min(all_y)), max(all_y) or 1.0
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_span = (x_high - x_low) or 1.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom

    def point(x: float, y: float) -> str:
        px = left + plot_w * (x - x_low) / x_span
        py = top + plot_h * (1 - (y - y_low) / ((y_high - y_low) or 1.0))
        return f"{px:.1f},{py:.1f}"

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
            f'stroke="{GREY}"/>',
            f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{_num(y_high)}</text>',
            f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">'
            f"{_num(y_low)}</text>",
            f'<text x="{left}" y="{height - 18}" font-size="10">{_num(x_low)}</text>',
            f'<text x="{WIDTH - right}" y="{height - 18}" font-size="10" text-anchor="end">'
            f"{_num(x_high)}</text>",
            f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" font-size="11" '
            f'text-anchor="middle">{escape(str(chart.get("x_label", "")))}</text>',
            f'<text x="12" y="{top + plot_h / 2:.0f}" font-size="11" '
            f'transform="rotate(-90 12 {top + plot_h / 2:.0f})" text-anchor="middle">'
            f'{escape(str(chart.get("y_label", "")))}</text>']
    colours = [BLUE, RED, AMBER, GREY]
    for index, (name, values) in enumerate(lines.items()):
        points = " ".join(point(x, y) for x, y in zip(xs, values, strict=False) if math.isfinite(y))
        colour = colours[index % len(colours)]
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
                    f'<text x="{WIDTH - right - 4}" y="{top + 14 + 12 * index}" font-size="10" '
                    f'text-anchor="end" fill="{colour}">{escape(name)}</text>')
    return _svg(height, str(chart.get("title", "")), body)


def histogram(chart: dict[str, Any]) -> str:
    """Adjacent bars of counts between edges, with the edge range under the axis."""
    edges: list[float] = chart["edges"]
    counts: list[int] = chart["counts"]
    unit = str(chart.get("unit", ""))
    height, top, bottom, left = 200, 28, 30, 50
    plot_w, plot_h = WIDTH - left - 16, height - top - bottom
    peak = max(counts or [1]) or 1
    width = plot_w / max(1, len(counts))
    body = [f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
            f'<text x="{left}" y="{height - 14}" font-size="10">'
            f"{_num(edges[0]) if edges else ''} {escape(unit)}</text>",
            f'<text x="{WIDTH - 16}" y="{height - 14}" font-size="10" text-anchor="end">'
            f"{_num(edges[-1]) if edges else ''} {escape(unit)}</text>"]
    for index, count in enumerate(counts):
        size = plot_h * count / peak
        body.append(f'<rect x="{left + index * width:.1f}" y="{top + plot_h - size:.1f}" '
                    f'width="{max(width - 1, 0.5):.1f}" height="{size:.1f}" fill="{BLUE}">'
                    f"<title>{_num(edges[index])}–{_num(edges[index + 1])} {escape(unit)}: "
                    f"{count}</title></rect>")
    return _svg(height, str(chart.get("title", "")), body)


def heatmap(chart: dict[str, Any]) -> str:
    """A grid coloured by value (darker is more), the count written in each cell."""
    labels: list[str] = [str(label) for label in chart["labels"]]
    matrix: list[list[float]] = chart["matrix"]
    size = min(60.0, 360.0 / max(1, len(labels)))
    left, top = 130, 48
    peak = max(_finite([v for row in matrix for v in row]) or [1.0]) or 1.0
    body = [f'<text x="{left + size * len(labels) / 2:.0f}" y="{top - 22}" font-size="11" '
            f'text-anchor="middle">{escape(str(chart.get("x_label", "")))}</text>',
            f'<text x="8" y="{top - 6}" font-size="11">{escape(str(chart.get("y_label", "")))}'
            "</text>"]
    for column, label in enumerate(labels):
        body.append(f'<text x="{left + column * size + size / 2:.1f}" y="{top - 6}" font-size="10" '
                    f'text-anchor="middle">{escape(label)}</text>')
    for row_index, row in enumerate(matrix):
        y = top + row_index * size
        name = labels[row_index] if row_index < len(labels) else ""
        body.append(f'<text x="{left - 6}" y="{y + size / 2 + 4:.1f}" font-size="10" '
                    f'text-anchor="end">{escape(name)}</text>')
        for column, value in enumerate(row):
            share = max(0.0, value) / peak if math.isfinite(value) else 0.0
            ink = "#fff" if share > 0.5 else "#000"
            body.append(f'<rect x="{left + column * size:.1f}" y="{y:.1f}" width="{size:.1f}" '
                        f'height="{size:.1f}" fill="{BLUE}" fill-opacity="{0.08 + 0.92 * share:.2f}" '
                        f'stroke="#fff"/><text x="{left + column * size + size / 2:.1f}" '
                        f'y="{y + size / 2 + 4:.1f}" font-size="11" text-anchor="middle" '
                        f'fill="{ink}">{_num(value)}</text>')
    height = top + size * len(matrix) + 10
    return _svg(height, str(chart.get("title", "")), body)
