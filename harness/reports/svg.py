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
               "histogram": histogram, "heatmap": heatmap, "comparison": comparison}
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


def comparison(chart: dict[str, Any]) -> str:
    """Two panels under one legend: latency by percentile (with the SLOs as ticks) and
    requests/s each second, the candidate in blue, the baseline in grey."""
    names: list[str] = chart["names"]
    colours = [BLUE, GREY]
    height, top, bottom, left = 250, 46, 34, 44
    panel_w = (WIDTH - 2 * left - 16) / 2  # two panels, each with room for its y labels
    gap = left
    plot_h = height - top - bottom
    body = []
    for index, name in enumerate(names):
        x = 8 + index * WIDTH / 2
        body.append(f'<rect x="{x:.0f}" y="24" width="14" height="4" fill="{colours[index % 2]}"/>'
                    f'<text x="{x + 18:.0f}" y="30" font-size="11">{escape(name)}</text>')
    labels: list[str] = chart["percentiles"]
    latency: list[list[float]] = chart["latency_ms"]
    # An SLO far above the measured latencies would flatten both lines: name it instead.
    peak = max(_finite([v for values in latency for v in values]) or [1.0])
    slo = {label: value for label, value in chart.get("slo", {}).items() if label in labels}
    marks = {label: value for label, value in slo.items() if value <= 2 * peak}
    beyond = ", ".join(f"{label} {_num(value)}" for label, value in slo.items() if label not in marks)
    caption = "latency by percentile (ms)" + (f"; SLO {beyond} off the scale" if beyond else "")
    body += _panel(left, top, panel_w, plot_h, caption, labels, latency, marks, colours)
    throughput: list[list[float]] = chart["throughput"]
    seconds = max((len(values) for values in throughput), default=0)
    ticks = [str(second) for second in range(seconds)]
    body += _panel(left + panel_w + gap, top, panel_w, plot_h, "requests/s each second", ticks,
                   throughput, {}, colours)
    return _svg(height, str(chart.get("title", "")), body)


def _panel(left: float, top: float, width: float, height: float, label: str, ticks: list[str],
           lines: list[list[float]], marks: dict[str, float], colours: list[str]) -> list[str]:
    """One plot: lines over categorical ticks (first and last labelled, every one when few),
    a y range from 0 to the highest value or mark, and marks as short amber dashes."""
    peak = max(_finite([v for values in lines for v in values] + list(marks.values())) or [1.0])
    peak = peak or 1.0
    step = width / max(1, len(ticks) - 1)

    def at(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + height * (1 - value / peak)

    body = [f'<rect x="{left}" y="{top}" width="{width:.1f}" height="{height}" fill="none" '
            f'stroke="{GREY}"/>',
            f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{_num(peak)}</text>',
            f'<text x="{left - 4}" y="{top + height}" font-size="10" text-anchor="end">0</text>',
            f'<text x="{left + width / 2:.0f}" y="{top + height + 28}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>']
    shown = range(len(ticks)) if len(ticks) <= 10 else (0, len(ticks) - 1)
    for index in shown:
        body.append(f'<text x="{left + index * step:.1f}" y="{top + height + 13}" font-size="10" '
                    f'text-anchor="middle">{escape(ticks[index])}</text>')
    for index, values in enumerate(lines):
        colour = colours[index % len(colours)]
        points = [(i, at(i, v), v) for i, v in enumerate(values) if math.isfinite(v)]
        line = " ".join(f"{x:.1f},{y:.1f}" for _, (x, y), _ in points)
        body.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if len(values) <= 10:
            body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>'
                     f"{escape(ticks[i])}: {_num(v)}</title></circle>" for i, (x, y), v in points]
    for tick, value in marks.items():
        x, y = at(ticks.index(tick), value)
        body.append(f'<line x1="{x - 8:.1f}" y1="{y:.1f}" x2="{x + 8:.1f}" y2="{y:.1f}" '
                    f'stroke="{AMBER}" stroke-width="2"/><text x="{x + 10:.1f}" y="{y + 4:.1f}" '
                    f'font-size="9" fill="{AMBER}">SLO {_num(value)}</text>')
    return body
