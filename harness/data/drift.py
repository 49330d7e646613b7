"""The drift verdict, one for the data gate (reference vs current file) and the production
monitor (reference vs the served window): the same scores must give the same checks.

Each compared feature is a `drift.<feature>` check of its score against the threshold (a p-value
passes at or above it, a distance at or below); `drift.dataset` is the verdict on the fraction of
drifted features against `max_drifted_features`. The callers decide what a feature's violation
weighs (the gate: `drift.feature_severity`; the monitor: a warning) and how scores are computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlops.core.catalogue import DRIFT_LABELS, P_VALUE_METHODS, DriftMethod
from mlops.spec.models import Column
from mlops.spec.threshold import Severity, Threshold

from ..result import HEADLINE, CheckFactory, CheckResult, bars_chart
from ..stats import DriftScore

_NUMERIC = ("float", "int")


class DriftLimits(Protocol):
    """The rules a verdict reads: the spec's `data.drift` and the monitor's rules both have them."""

    @property
    def method(self) -> DriftMethod: ...

    @property
    def threshold(self) -> float: ...

    @property
    def max_drifted_features(self) -> float: ...


@dataclass(frozen=True)
class DriftVerdict:
    """The checks, the compared features' scores (for metrics) and the per-feature chart."""

    checks: list[CheckResult]
    scores: dict[str, DriftScore] = field(default_factory=dict)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)


def is_numeric(column: Column) -> bool:
    """How a feature is compared: numbers without an `allowed` list are binned, the rest counted."""
    return column.dtype in _NUMERIC and column.allowed is None


def drift_threshold(method: str, threshold: float, severity: Severity = "error") -> Threshold:
    """A score's pass condition: p-values pass at or above the threshold, distances at or below."""
    return Threshold.of(">=" if method in P_VALUE_METHODS else "<=", threshold, severity)


def judge(check: CheckFactory, rules: DriftLimits, compared: Mapping[str, DriftScore | str], *,
          feature_severity: Severity) -> DriftVerdict:
    """Checks of each feature, in `compared`'s order (a score, or why it was not compared), then
    the dataset verdict."""
    threshold = drift_threshold(rules.method, rules.threshold, feature_severity)
    checks: list[CheckResult] = []
    scores: dict[str, DriftScore] = {}
    for feature, score in compared.items():
        name = f"drift.{feature}"
        if isinstance(score, str) or math.isnan(score.score):
            reason = score if isinstance(score, str) else "no values"
            checks.append(check(name, "skip", f"{feature}: not compared ({reason})"))
            continue
        checks.append(check.compare(name, f"{feature} {DRIFT_LABELS[score.method]}", score.score, threshold,
                                    details={"method": score.method, **_brief(score.details)}))
        scores[feature] = score
    if not scores:
        return DriftVerdict([*checks, check("drift.dataset", "skip", "no feature could be compared")])
    drifted = [feature for feature, score in scores.items() if score.drifted(rules.threshold)]
    summary = check.compare("drift.dataset",
                            f"drifted feature fraction ({len(drifted)} of {len(scores)})",
                            len(drifted) / len(scores), Threshold.of("<=", rules.max_drifted_features),
                            details={"drifted": drifted, HEADLINE: True})
    if drifted:
        summary.message += f"; drifted: {', '.join(drifted)}"
    chart = bars_chart(f"Drift per feature ({DRIFT_LABELS[rules.method]})",
                       {feature: score.score for feature, score in scores.items()},
                       threshold=rules.threshold, higher_is_worse=rules.method not in P_VALUE_METHODS)
    return DriftVerdict([*checks, summary], scores, {"drift": chart})


def _brief(details: dict[str, Any]) -> dict[str, Any]:
    """Scalars only: per-bin counts would bloat every report."""
    return {k: v for k, v in details.items() if isinstance(v, int | float | str)}
