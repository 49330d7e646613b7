"""`load.max_regression` and `load.rounds`: limits on candidate / baseline in the threshold
grammar (a bare number says 'no worse than'), with their defaults and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.spec.errors import SpecError
from mlops.spec.loader import validate_text
from mlops.spec.models import DEFAULT_MAX_REGRESSION, Load
from mlops.spec.threshold import Threshold
from tests.specs import breast_cancer, changed, location, spec_yaml

ROOT = Path(__file__).resolve().parents[2]


def errors(changes: dict[str, object]) -> tuple[str, list[str]]:
    text = spec_yaml(changed(breast_cancer(), changes))
    try:
        validate_text(text, ROOT / "mlops.yaml", display="mlops.yaml", check_files=False)
    except SpecError as error:
        return text, str(error).splitlines()
    return text, []


def test_defaults_limit_p95_and_throughput() -> None:
    assert DEFAULT_MAX_REGRESSION == {"p95_ms": 1.5, "rps": 0.67}
    assert Load().max_regression.limits() == {"p95_ms": Threshold(expr="<= 1.5"),
                                              "rps": Threshold(expr=">= 0.67")}
    assert Load().rounds == 4


def test_a_bare_number_limits_the_worse_direction_and_thresholds_keep_their_severity() -> None:
    load = Load.model_validate({"max_regression": {
        "p95_ms": 1.2, "rps": 0.9, "error_rate": 2, "p99_ms": {"expr": "< 2", "severity": "warn"}}})
    assert load.max_regression.limits() == {
        "p95_ms": Threshold(expr="<= 1.2"), "p99_ms": Threshold(expr="< 2", severity="warn"),
        "error_rate": Threshold(expr="<= 2.0"), "rps": Threshold(expr=">= 0.9")}


def test_null_drops_a_default_limit() -> None:
    load = Load.model_validate({"max_regression": {"rps": None}})
    assert load.max_regression.limits() == {"p95_ms": Threshold(expr="<= 1.5")}


def test_a_limit_pointing_the_wrong_way_is_located() -> None:
    text, found = errors({"load.max_regression": {"p95_ms": ">= 1.2", "rps": "< 0.9"}})
    assert found == [
        f"mlops.yaml:{location(text, 'load.max_regression.p95_ms')}: load.max_regression.p95_ms: "
        "limits how far the p95 latency may rise against the baseline: use < or <=, got '>= 1.2'",
        f"mlops.yaml:{location(text, 'load.max_regression.rps')}: load.max_regression.rps: limits "
        "how far the throughput may drop against the baseline: use > or >=, got '< 0.9'",
    ]


@pytest.mark.parametrize("value", [0, -1, "<= 0"])
def test_a_ratio_is_above_zero(value: object) -> None:
    text, found = errors({"load.max_regression": {"p99_ms": value}})
    shown = "-1" if value == -1 else "0"
    assert found == [f"mlops.yaml:{location(text, 'load.max_regression.p99_ms')}: "
                     f"load.max_regression.p99_ms: a ratio to the baseline is above 0, got {shown}"]


def test_limits_need_a_baseline_when_written() -> None:
    without = {"model.baseline": None, "metrics.no_regression": {}}
    text, found = errors({**without, "load.max_regression": {"p95_ms": 1.2}})
    assert found == [f"mlops.yaml:{location(text, 'load.max_regression')}: load.max_regression: "
                     "needs model.baseline to compare against"]
    assert errors(without)[1] == []  # the defaults alone ask for nothing


def test_rounds_are_bounded() -> None:
    text, found = errors({"load.rounds": 0})
    assert found == [f"mlops.yaml:{location(text, 'load.rounds')}: load.rounds: expected a number "
                     "at least 1, got 0"]
