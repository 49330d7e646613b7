"""The one drift verdict of the data gate and the monitor: per-feature checks in order, skipped
features with their reason, p-values against distances, and the drifted-fraction verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlops.core.catalogue import DriftMethod
from mlops.harness.data.drift import judge
from mlops.harness.result import CheckFactory
from mlops.harness.stats import DriftScore


@dataclass(frozen=True)
class Rules:
    method: DriftMethod
    threshold: float
    max_drifted_features: float


def test_each_feature_then_the_dataset_verdict() -> None:
    compared: dict[str, DriftScore | str] = {
        "a": DriftScore("psi", 0.05, {"cuts": [1.0, 2.0], "statistic": 3}),
        "b": DriftScore("psi", 0.4, {}),
        "c": "missing from data/current.csv",
        "d": DriftScore("psi", math.nan, {}),
        "e": DriftScore("jensen_shannon", 0.3, {}),
    }
    verdict = judge(CheckFactory("data"), Rules("psi", 0.2, 0.5), compared, feature_severity="error")
    found = [(c.gate, c.name, c.status) for c in verdict.checks]
    assert found == [("data", "drift.a", "pass"), ("data", "drift.b", "fail"),
                     ("data", "drift.c", "skip"), ("data", "drift.d", "skip"),
                     ("data", "drift.e", "fail"), ("data", "drift.dataset", "fail")]
    checks = {c.name: c for c in verdict.checks}
    assert checks["drift.a"].details == {"method": "psi", "statistic": 3}  # scalars only
    assert checks["drift.b"].message == "b PSI 0.4, configured to fail when above 0.2"
    assert checks["drift.c"].message == "c: not compared (missing from data/current.csv)"
    assert checks["drift.d"].message == "d: not compared (no values)"
    assert checks["drift.dataset"].message == (
        "drifted feature fraction (2 of 3) 0.6667, configured to fail when above 0.5; drifted: b, e")
    assert list(verdict.scores) == ["a", "b", "e"]
    assert verdict.charts["drift"]["labels"] == ["a", "b", "e"]
    assert verdict.charts["drift"]["threshold"] == 0.2


def test_p_values_drift_below_the_threshold_and_warnings_stay_warnings() -> None:
    compared: dict[str, DriftScore | str] = {"a": DriftScore("ks", 0.01, {}),
                                              "b": DriftScore("ks", 0.5, {})}
    verdict = judge(CheckFactory("monitor"), Rules("ks", 0.05, 0.6), compared,
                    feature_severity="warn")
    assert [(c.name, c.status) for c in verdict.checks] == [
        ("drift.a", "warn"), ("drift.b", "pass"), ("drift.dataset", "pass")]
    assert verdict.checks[0].message == (
        "a KS p-value 0.01, configured to warn when below 0.05")
    assert verdict.charts["drift"]["higher_is_worse"] is False


def test_nothing_compared_skips_the_dataset_verdict() -> None:
    verdict = judge(CheckFactory("data"), Rules("psi", 0.2, 0.3), {"a": "wrong dtype in x.csv"},
                    feature_severity="error")
    assert [(c.name, c.status, c.message) for c in verdict.checks] == [
        ("drift.a", "skip", "a: not compared (wrong dtype in x.csv)"),
        ("drift.dataset", "skip", "no feature could be compared")]
    assert (verdict.scores, verdict.charts) == ({}, {})
