"""One self-contained HTML page: an overview of every gate, then each gate's checks and inline
SVG plots.

The overview is one row per gate: its status, its checks, its key figures against their thresholds
and the baseline, and its summary line; a reader sees the verdict and why at a glance, before the
per-check tables. A gate's section opens with its summary and chart; files the gate kept beside
the report (Locust's HTML reports) are linked by relative paths. No scripts, fonts, stylesheets or
images are fetched: the page (with its folder) can be archived as a CI artifact and opened
offline. Every value from the report is escaped.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from ..result import GateResult, Report, Status
from . import svg
from .format import figure_text, key_checks, observed_text, pinned_files, pinned_summary, title

LABELS: dict[Status, str] = {"pass": "pass", "warn": "warn", "fail": "FAIL", "error": "ERROR",
                             "skip": "skip"}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.8rem;color:#fff}
.pass{background:#2e7d32}.warn{background:#d08c00}.fail,.error{background:#c9372c}
.skip{background:#888}.charts svg{display:block;margin:1rem 0;max-width:100%}
table.overview{margin:1rem 0 2rem}table.overview td{padding:.45rem .5rem}
table.overview ul{margin:0;padding-left:1.1rem}table.overview p{margin:0 0 .2rem}
p.summary{font-size:1.05rem;font-weight:600}
"""


def _badge(status: Status) -> str:
    return f'<span class="badge {status}">{LABELS[status]}</span>'


def to_html(report: Report) -> str:
    counts = report.counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    commit = f" at {escape(report.commit[:12])}" if report.commit else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>mlops {title(report)}: {escape(report.spec_name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{_badge(report.status)} mlops {title(report)}: {escape(report.spec_name)}</h1>",
        f"<p>{escape(report.spec_path)}{commit} · {summary or 'no checks'} · "
        f"{report.duration_s:.1f} s · report schema {report.schema_version}</p>",
        _pins(report),
        _overview(report),
    ]
    for gate in report.gates:
        parts.append(_gate(gate))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _pins(report: Report) -> str:
    """The pinned tool, spec, model, baseline and data: one line, the files' table folded."""
    if report.pins is None:
        return ""
    rows = "".join(f"<tr><td>{escape(what)}</td><td>{escape(path)}</td><td><code>{escape(digest)}"
                   f'</code></td><td class="num">{size}</td><td class="num">{rows}</td></tr>'
                   for what, path, digest, size, rows in pinned_files(report.pins))
    return (f'<details id="pins"><summary>Pinned: {escape(pinned_summary(report.pins))}</summary>'
            "<table><thead><tr><th>file</th><th>path</th><th>SHA-256</th><th>bytes</th>"
            f"<th>rows</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>spec SHA-256 <code>{escape(report.pins.spec_sha256)}</code></p></details>")


def _overview(report: Report) -> str:
    """One row per gate: status, checks, key figures (threshold, baseline), summary, time."""
    rows = []
    for gate in report.gates:
        counts: dict[str, int] = {}
        for check in gate.checks:
            counts[check.status] = counts.get(check.status, 0) + 1
        tally = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no checks"
        figures = "".join(f"<li>{escape(figure_text(check))}</li>" for check in key_checks(gate))
        summary = f"<p>{escape(gate.summary)}</p>" if gate.summary else ""
        rows.append(
            f"<tr><td>{_badge(gate.status)}</td>"
            f'<td><a href="#gate-{escape(gate.gate)}">{escape(gate.gate)}</a></td>'
            f"<td>{escape(tally)}</td><td>{summary}<ul>{figures}</ul></td>"
            f'<td class="num">{gate.duration_s:.1f} s</td></tr>')
    return ('<table class="overview" id="overview"><thead><tr><th>status</th><th>gate</th>'
            "<th>checks</th><th>key figures (threshold; baseline)</th><th>time</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>")


def _gate(gate: GateResult) -> str:
    rows = []
    for check in gate.checks:
        delta = check.delta
        rows.append(
            f"<tr><td>{_badge(check.status)}</td><td>{escape(check.name)}</td>"
            f'<td class="num">{escape(observed_text(check))}</td>'
            f"<td>{escape(check.threshold or '')}</td>"
            f'<td class="num">{"" if delta is None else f"{delta:+.4g}"}</td>'
            f"<td>{escape(check.message)}</td></tr>")
    featured = gate.charts.get(gate.summary_chart or "") if gate.summary else None
    opening = f'<p class="summary">{escape(gate.summary)}</p>' if gate.summary else ""
    if featured is not None:
        opening += f'<div class="charts">{svg.render(featured)}</div>'
    charts = "".join(svg.render(chart) for chart in gate.charts.values() if chart is not featured)
    links = "".join(f'<li><a href="{escape(quote(path))}">{escape(label)}</a></li>'
                    for label, path in gate.attachments.items())
    return (f'<section id="gate-{escape(gate.gate)}"><h2>{_badge(gate.status)} '
            f"{escape(gate.gate)} <small>({len(gate.checks)} checks, {gate.duration_s:.1f} s)"
            "</small></h2>" + opening +
            '<table class="checks"><thead><tr><th>status</th><th>check</th><th>observed</th>'
            "<th>threshold</th><th>Δ baseline</th><th>message</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
            + (f'<div class="charts">{charts}</div>' if charts else "")
            + (f'<p>Files kept beside this report:</p><ul class="files">{links}</ul>' if links else "")
            + "</section>")
