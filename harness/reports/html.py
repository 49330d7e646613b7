"""One self-contained HTML page: summary, every check, and inline SVG plots per gate.

No scripts, fonts, stylesheets or images are fetched: the file can be archived as a CI artifact
and opened offline. Every value from the report is escaped.
"""

from __future__ import annotations

from html import escape

from ..result import GateResult, Report, Status
from . import svg
from .format import observed_text, title

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
    ]
    for gate in report.gates:
        parts.append(_gate(gate))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


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
    charts = "".join(svg.render(chart) for chart in gate.charts.values())
    return (f'<section id="gate-{escape(gate.gate)}"><h2>{_badge(gate.status)} '
            f"{escape(gate.gate)} <small>({len(gate.checks)} checks, {gate.duration_s:.1f} s)"
            "</small></h2>"
            "<table><thead><tr><th>status</th><th>check</th><th>observed</th><th>threshold</th>"
            "<th>Δ baseline</th><th>message</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
            + (f'<div class="charts">{charts}</div>' if charts else "") + "</section>")
