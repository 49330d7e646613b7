"""Formatting shared by the report views."""

from __future__ import annotations

import math

from mlops.spec.threshold import format_number

from ..result import HEADLINE, CheckResult, GateResult, Pins, Report, display_number

TITLES = {"release": "release gates", "monitor": "monitor"}
"""What a report is called, by `Report.kind`."""
_VERDICTS = {
    "release": {"pass": "passed", "warn": "passed with warnings", "skip": "nothing checked",
                "fail": "failed", "error": "failed"},
    "monitor": {"pass": "no alert", "warn": "no alert, with warnings", "skip": "nothing checked",
                "fail": "alert", "error": "could not run"},
}


def title(report: Report) -> str:
    """'release gates' or 'monitor': the heading of every view."""
    return TITLES[report.kind]


def verdict(report: Report) -> str:
    """The report's outcome in its kind's words ('failed' for gates, 'alert' for the monitor)."""
    return _VERDICTS[report.kind][report.status]


def observed_text(check: CheckResult) -> str:
    """The observed value as a person reads it: '61.2 ms', '0.9649', 'NaN', or ''."""
    value = check.observed
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    shown = "NaN" if math.isnan(value) else format_number(round(value, 4))
    return f"{shown} {check.unit}".rstrip()


def key_checks(gate: GateResult, most: int = 4) -> list[CheckResult]:
    """The few checks an overview shows for a gate: what failed or warned first, then those the
    gate marks as headline figures, then other threshold checks, in the gate's order."""
    def rank(check: CheckResult) -> int:
        if check.status in ("fail", "error"):
            return 0
        if check.status == "warn":
            return 1
        if check.details.get(HEADLINE):
            return 2
        return 3 if check.threshold is not None else 4

    ranked = sorted((check for check in gate.checks if rank(check) < 4), key=rank)
    return ranked[:most]


def figure_text(check: CheckResult) -> str:
    """'p95_ms 21 ms (< 100; baseline 20 ms)': a check's value against its threshold and the
    baseline; the message when there is no value."""
    if not isinstance(check.observed, int | float):
        return f"{check.name}: {check.message}"
    value = f"{display_number(check.observed)} {check.unit}".rstrip()
    context = [check.threshold] if check.threshold else []
    if check.baseline is not None:
        context.append(f"baseline {display_number(check.baseline)} {check.unit}".rstrip())
    return f"{check.name} {value}" + (f" ({'; '.join(context)})" if context else "")


def short_digest(digest: str) -> str:
    """'sha256:1a2b3c4d5e6f': the first 12 hex digits, as image tags and the server show them."""
    return digest[:19]


def pinned_summary(pins: Pins) -> str:
    """One line: 'mlops 0.2.0 · spec sha256:1a2b3c4d5e6f · model sha256:... · baseline
    sha256:... (origin/main 3f2a1bc) · 3 data files'."""
    parts = [f"mlops {pins.tool_version}", f"spec {short_digest(pins.spec_sha256)}"]
    parts.append(f"model {short_digest(pins.model.sha256)}" if pins.model else "no model file")
    if pins.baseline_model:
        base = pins.baseline_model
        parts.append(f"baseline {short_digest(base.sha256)} ({base.ref} {base.commit[:7]})")
    count = len(pins.data)
    parts.append(f"{count} data file{'s' if count != 1 else ''}")
    return " · ".join(parts)


def pinned_files(pins: Pins) -> list[tuple[str, str, str, str, str]]:
    """(what, path, sha256, bytes, rows) per pinned file: the model, the baseline, the data."""
    rows = []
    if pins.model:
        rows.append(("model", pins.model.path, pins.model.sha256, str(pins.model.bytes), ""))
    if pins.baseline_model:
        base = pins.baseline_model
        rows.append(("baseline model", f"{base.ref} ({base.commit[:12]})", base.sha256, "", ""))
    for data in pins.data:
        rows.append(("data", data.path, data.sha256, str(data.bytes),
                     "" if data.rows is None else str(data.rows)))
    return rows


def pinned_properties(report: Report) -> list[tuple[str, str]]:
    """(name, value) pairs for JUnit <properties>: every pin, flat."""
    pins = report.pins
    if pins is None:
        return [("mlops.commit", report.commit)] if report.commit else []
    found = [("mlops.version", pins.tool_version)]
    if report.commit:
        found.append(("mlops.commit", report.commit))
    found.append(("mlops.spec.sha256", pins.spec_sha256))
    if pins.model:
        found.append(("mlops.model.sha256", pins.model.sha256))
    if pins.baseline_model:
        found += [("mlops.baseline.sha256", pins.baseline_model.sha256),
                  ("mlops.baseline.commit", pins.baseline_model.commit)]
    found += [(f"mlops.data.{data.path}.sha256", data.sha256) for data in pins.data]
    return found
