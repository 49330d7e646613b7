from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from mlops.spec.threshold import Threshold, format_number, parse_expression


@pytest.mark.parametrize(("text", "op", "value"), [
    (">= 0.93", ">=", 0.93), ("<50", "<", 50.0), ("  != -1e-3 ", "!=", -0.001), ("== .5", "==", 0.5),
])
def test_parse(text: str, op: str, value: float) -> None:
    comparison = parse_expression(text)
    assert (comparison.op, comparison.value) == (op, value)


@pytest.mark.parametrize("text", ["", "0.9", ">= ", "=> 1", ">= 1 ms", "at least 3", ">= nan"])
def test_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected an expression like"):
        parse_expression(text)


def test_passes_and_nan_never_passes() -> None:
    threshold = Threshold.model_validate("< 50")
    assert threshold.passes(49.9) and not threshold.passes(50) and not threshold.passes(math.nan)
    assert threshold.severity == "error"


def test_mapping_form_carries_severity() -> None:
    threshold = Threshold.model_validate({"expr": ">= 0.9", "severity": "warn"})
    assert threshold.severity == "warn" and str(threshold) == ">= 0.9"
    with pytest.raises(ValidationError):
        Threshold.model_validate({"expr": ">= 0.9", "severity": "fatal"})


def test_words() -> None:
    comparison = parse_expression("< 50")
    assert comparison.describe() == "below 50"
    assert comparison.describe_failure() == "at or above 50"
    assert format_number(0.9300) == "0.93" and format_number(2.0) == "2"
