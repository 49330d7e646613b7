"""Formatting shared by the report views."""

from __future__ import annotations

import math

from mlops.spec.threshold import format_number

from ..result import CheckResult, Report

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
