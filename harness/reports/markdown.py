"""The sticky PR comment (also the CI step summary): one table, details per gate, Mermaid charts.

The first line is a hidden marker, `<!-- mlops-report:NAME -->`, that the PR workflow searches
for to update its one comment instead of adding a new one on every push. Gates with many checks
show only their non-passing rows in the table; every check is listed in the gate's details. A gate
with a summary (the load gate: "p95 2.1 ms vs 2.0 ms on main (1.05x), ...") gets a section that
opens with that line and its chart, above its collapsed details.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mlops.spec.threshold import format_number

from ..result import HEADLINE, CheckResult, GateResult, Report, Status, display_number
from .format import observed_text, pinned_files, pinned_summary, title, verdict

ICONS: dict[Status, str] = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥", "skip": "⏭️"}
TABLE_ROWS_PER_GATE = 12
MERMAID_POINTS = 60


def marker(spec_name: str) -> str:
    return f"<!-- mlops-report:{spec_name} -->"


def to_markdown(report: Report) -> str:
    counts = report.counts()
    summary = " · ".join(f"{n} {ICONS[s]}" for s, n in counts.items() if n)
    commit = f" at `{report.commit[:12]}`" if report.commit else ""
    lines = [
        marker(report.spec_name),
        f"## {ICONS[report.status]} mlops {title(report)} for `{_cell(report.spec_name)}`: "
        f"{verdict(report)}",
        "",
        f"`{_cell(report.spec_path)}`{commit} · {sum(counts.values())} checks: {summary} · "
        f"{report.duration_s:.1f} s",
        "",
        *_pins(report),
        "| Gate | Check | Observed | Threshold | Δ baseline | Status |",
        "|---|---|---:|---|---:|:-:|",
    ]
    for gate in report.gates:
        lines.extend(_rows(gate))
    lines.append("")
    for gate in report.gates:
        lines.extend(_section(gate))
        lines.extend(_details(gate))
    return "\n".join(lines) + "\n"


def _pins(report: Report) -> list[str]:
    """One collapsed line naming the tool, spec, model, baseline and data; the table inside."""
    if report.pins is None:
        return []
    lines = [f"<details><summary>Pinned: {_html(pinned_summary(report.pins))}</summary>", "",
             "| File | Path | SHA-256 | Bytes | Rows |", "|---|---|---|---:|---:|"]
    lines += [f"| {what} | `{_cell(path)}` | `{digest}` | {size} | {rows} |"
              for what, path, digest, size, rows in pinned_files(report.pins)]
    return [*lines, "", "</details>", ""]


def _section(gate: GateResult) -> list[str]:
    """The gate's one line and its chart, shown before its details; nothing without a summary."""
    if gate.summary is None:
        return []
    lines = [f"### {ICONS[gate.status]} {_html(gate.gate)}", "", f"**{_html(gate.summary)}**", ""]
    chart = gate.charts.get(gate.summary_chart or "")
    if chart is not None:
        lines += [*_chart(chart), ""]
    return lines


def _rows(gate: GateResult) -> list[str]:
    shown = gate.checks
    if len(shown) > TABLE_ROWS_PER_GATE:
        shown = [c for c in gate.checks if c.status != "pass" or c.details.get(HEADLINE)]
    rows = [_row(check) for check in shown]
    hidden = len(gate.checks) - len(shown)
    if hidden:
        more = " more" if shown else ""
        rows.append(f"| {_cell(gate.gate)} | *{hidden}{more} checks passed (see details)* "
                    "| | | | ✅ |")
    if not gate.checks:
        rows.append(f"| {_cell(gate.gate)} | *no checks* | | | | {ICONS['skip']} |")
    return rows


def _row(check: CheckResult) -> str:
    delta = check.delta
    delta_text = "" if delta is None else f"{'+' if delta >= 0 else ''}{display_number(delta)}"
    return (f"| {_cell(check.gate)} | {_cell(check.name)} | {_cell(observed_text(check))} | "
            f"{_cell(check.threshold or '')} | {delta_text} | {ICONS[check.status]} |")


def _details(gate: GateResult) -> list[str]:
    lines = [f"<details><summary>{ICONS[gate.status]} <b>{_html(gate.gate)}</b>: {gate.status}, "
             f"{len(gate.checks)} checks, {gate.duration_s:.1f} s</summary>", ""]
    lines += [f"- {ICONS[c.status]} `{_cell(c.name)}`: {_html(c.message)}" for c in gate.checks]
    for key, chart in gate.charts.items():
        if key != gate.summary_chart or gate.summary is None:
            lines += ["", *_chart(chart)]
    return [*lines, "", "</details>", ""]


def _chart(chart: dict[str, Any]) -> list[str]:
    kind = chart.get("kind")
    title = _quote(str(chart.get("title", "")))
    if kind == "percentiles":
        slo: dict[str, float] = chart.get("slo", {})
        labels: list[str] = chart["labels"]
        body = [f"    x-axis [{', '.join(_label(label) for label in labels)}]",
                f"    y-axis \"{_quote(chart.get('unit', ''))}\"",
                f"    bar [{_numbers(chart['values'])}]"]
        if slo and all(label in slo for label in labels):
            body.append(f"    line [{_numbers([slo[label] for label in labels])}]")
            title += " (bars: measured, line: SLO)"
        elif slo:
            title += " (SLO " + ", ".join(f"{k} {format_number(v)}" for k, v in slo.items()) + ")"
        return _mermaid(["xychart-beta", f'    title "{title}"', *body])
    if kind == "series":
        x: list[float] = chart["x"]
        step = max(1, math.ceil(len(x) / MERMAID_POINTS))
        body = [f"    x-axis \"{_quote(chart.get('x_label', ''))}\" "
                f"{format_number(x[0] if x else 0)} --> {format_number(x[-1] if x else 1)}",
                f"    y-axis \"{_quote(chart.get('y_label', ''))}\""]
        names = list(chart["series"])
        body += [f"    line [{_numbers(values[::step])}]" for values in chart["series"].values()]
        if len(names) > 1:
            title += " (" + ", ".join(names) + ")"
        return _mermaid(["xychart-beta", f'    title "{title}"', *body])
    if kind == "histogram":
        edges, counts = _coarsen(chart["edges"], chart["counts"], 30)
        labels = [format_number(round(edge, 3)) for edge in edges[:-1]]
        return _mermaid(["xychart-beta", f'    title "{title}"',
                         f"    x-axis \"{_quote(chart.get('unit', ''))}\" "
                         f"[{', '.join(_label(label) for label in labels)}]",
                         '    y-axis "count"', f"    bar [{_numbers(counts)}]"])
    if kind == "bars":
        labels = chart["labels"]
        body = [f"    x-axis [{', '.join(_label(label) for label in labels)}]",
                f"    bar [{_numbers(chart['values'])}]"]
        if chart.get("threshold") is not None:
            body.append(f"    line [{_numbers([chart['threshold']] * len(labels))}]")
            title += f" (line: threshold {format_number(chart['threshold'])})"
        return _mermaid(["xychart-beta horizontal", f'    title "{title}"', *body])
    if kind == "comparison":
        return _comparison(chart)
    if kind == "heatmap":
        labels = [_cell(str(label)) for label in chart["labels"]]
        rows = [f"**{_html(str(chart.get('title', '')))}** ({_html(chart.get('y_label', ''))} "
                f"by row, {_html(chart.get('x_label', ''))} by column)", "",
                "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        rows += [f"| **{label}** | " + " | ".join(format_number(v) for v in row) + " |"
                 for label, row in zip(labels, chart["matrix"], strict=False)]
        return rows
    return []


def _comparison(chart: dict[str, Any]) -> list[str]:
    """Two xycharts, the candidate as bars and the baseline as a line on each: latency by
    percentile, then requests/s each second (Mermaid has no legend, so the titles say which)."""
    names: list[str] = chart["names"]
    legend = f"(bars: {_quote(names[0])}, line: {_quote(names[1])})"
    new, old = chart["latency_ms"]
    latency = ["xychart-beta", f'    title "Latency by percentile, ms {legend}"',
               f"    x-axis [{', '.join(_label(label) for label in chart['percentiles'])}]",
               '    y-axis "ms"', f"    bar [{_numbers(new)}]", f"    line [{_numbers(old)}]"]
    length = min(len(series) for series in chart["throughput"])
    step = max(1, math.ceil(length / MERMAID_POINTS))
    new, old = (series[:length:step] for series in chart["throughput"])
    throughput = ["xychart-beta", f'    title "Requests/s each second {legend}"',
                  f'    x-axis "second" 0 --> {max(0, length - 1)}', '    y-axis "requests/s"',
                  f"    bar [{_numbers(new)}]", f"    line [{_numbers(old)}]"]
    return [*_mermaid(latency), "", *_mermaid(throughput)]


def _mermaid(lines: list[str]) -> list[str]:
    return ["```mermaid", *lines, "```"]


def _coarsen(edges: Sequence[float], counts: Sequence[int],
             most: int) -> tuple[list[float], list[int]]:
    """Merge neighbouring bins so at most `most` remain (Mermaid axes crowd quickly)."""
    step = max(1, math.ceil(len(counts) / most))
    merged = [sum(counts[i:i + step]) for i in range(0, len(counts), step)]
    kept = [edges[i] for i in range(0, len(counts), step)] + [edges[-1]]
    return kept, merged


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(format_number(round(v, 4)) if math.isfinite(v) else "0" for v in values)


def _label(text: str) -> str:
    return f'"{_quote(text)}"'


def _quote(text: str) -> str:
    """Mermaid strings cannot hold double quotes or line breaks."""
    return text.replace('"', "'").replace("\n", " ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _cell(text: str) -> str:
    """A table cell: escaped HTML, no line breaks, pipes escaped."""
    return _html(text).replace("|", "\\|")
