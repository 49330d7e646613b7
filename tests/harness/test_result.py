"""The sentence every threshold check carries, and how its numbers are shown."""

from __future__ import annotations

import math

import pytest

from mlops.harness.result import compare, display_number
from mlops.spec.threshold import Threshold


@pytest.mark.parametrize(("value", "shown"), [
    (0.973684, "0.9737"), (61.2345, "61.23"), (10427.3, "10427"), (3e-8, "3e-08"), (2.0, "2"),
    (math.nan, "NaN"), (math.inf, "inf"), (-0.5, "-0.5"),
])
def test_display_number(value: float, shown: str) -> None:
    assert display_number(value) == shown


def test_compare_says_what_was_observed_and_what_fails() -> None:
    failed = compare("load", "p95_ms", "p95 latency", 61.2, Threshold.model_validate("< 50"), unit="ms")
    assert (failed.status, failed.message) == (
        "fail", "p95 latency 61.2 ms, configured to fail when at or above 50 ms")
    warned = compare("model", "log_loss", "log loss", 0.3,
                     Threshold.model_validate({"expr": "<= 0.2", "severity": "warn"}))
    assert (warned.status, warned.message) == (
        "warn", "log loss 0.3, configured to warn when above 0.2")
    assert compare("model", "f1", "F1", math.nan, Threshold.model_validate(">= 0.9")).status == "fail"
