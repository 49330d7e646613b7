"""Formatting shared by the report views."""

from __future__ import annotations

import math

from mlops.spec.threshold import format_number

from ..result import HEADLINE, CheckResult, GateResult, Report, display_number

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
