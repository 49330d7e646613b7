"""The sentence every threshold check carries, and how its numbers are shown."""

from __future__ import annotations

import math

import pytest

from mlops.harness.result import CheckFactory, CheckResult, compare, display_number
from mlops.spec.threshold import Operator, Threshold


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


@pytest.mark.parametrize(("op", "value", "expr"), [
    ("<=", 0.01, "<= 0.01"), (">=", 100, ">= 100"), ("<", 1e-05, "< 1e-05"), (">", 0.1 + 0.2, "> 0.3"),
])
def test_threshold_of_a_value_equals_the_written_expression(op: Operator, value: float,
                                                             expr: str) -> None:
    built = Threshold.of(op, value)
    assert built.comparison.value == value  # the exact float, not a rounded text of it
    assert str(built) == str(Threshold.model_validate(expr))
    assert Threshold.of(op, value, "warn").severity == "warn"


def test_check_factory_names_its_gate() -> None:
    check = CheckFactory("bench")
    made = check("model_size", "pass", "model size 2 KiB", observed=2048.0, unit="bytes")
    assert made.model_dump() == CheckResult(
        gate="bench", name="model_size", status="pass", message="model size 2 KiB", observed=2048.0,
        unit="bytes").model_dump()
    assert check.compare("p50_ms@1", "p50 latency", 3.0, Threshold.of("<", 2.0), unit="ms") == compare(
        "bench", "p50_ms@1", "p50 latency", 3.0, Threshold.of("<", 2.0), unit="ms")
    only = check.only("inputs", "error", "model artifact models/model.onnx not found")
    assert (only.gate, only.status, [c.gate for c in only.checks]) == ("bench", "error", ["bench"])
