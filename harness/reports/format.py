"""Formatting shared by the report views."""

from __future__ import annotations

import math

from mlops.spec.threshold import format_number

from ..result import CheckResult


def observed_text(check: CheckResult) -> str:
    """The observed value as a person reads it: '61.2 ms', '0.9649', 'NaN', or ''."""
    value = check.observed
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    shown = "NaN" if math.isnan(value) else format_number(round(value, 4))
    return f"{shown} {check.unit}".rstrip()
