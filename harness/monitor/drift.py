"""Input drift per feature and prediction shift, scored with the data gate's statistics.

A feature over the threshold is a warning; the alert is the data gate's dataset verdict, the
drifted-feature fraction above `max_drifted_features` (what the generated rule MlopsDriftDetected
checks). Prediction shift compares the live scores (and predicted labels) with the model's on the
reference rows; it warns, it does not alert: the spec sets no threshold of its own for it.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from mlops.spec.threshold import Threshold

from ..result import HEADLINE, CheckResult, bars_chart, compare
from ..stats import DriftScore, score_categories, score_numeric
from ..stats.drift import LABELS, P_VALUE_METHODS
from .config import DriftRules
from .reference import ReferenceData, ReferencePredictions
from .requestlog import LogWindow

GATE = "monitor"
MIN_DRIFT_ROWS = 50
"""Fewer logged rows than this and drift is not judged: a 10-bin PSI of a dozen rows is noise, and a
quiet night must not open an issue and start a retraining."""


def _check(name: str, status: Any, message: str, **extra: Any) -> CheckResult:
    return CheckResult(gate=GATE, name=name, status=status, message=message, **extra)


def _threshold(rules: DriftRules, severity: Literal["error", "warn"]) -> Threshold:
    op = ">=" if rules.method in P_VALUE_METHODS else "<="
    return Threshold(expr=f"{op} {rules.threshold}", severity=severity)


def drift_checks(rules: DriftRules, reference: ReferenceData, window: LogWindow
                 ) -> tuple[list[CheckResult], dict[str, DriftScore], dict[str, dict[str, Any]]]:
    """Per-feature checks, the dataset verdict, the scores (for metrics) and a chart."""
    if window.rows < MIN_DRIFT_ROWS:
        return [_check("drift.dataset", "skip",
                       f"drift not judged: {window.rows} rows in the window, at least "
                       f"{MIN_DRIFT_ROWS} are needed")], {}, {}
    checks: list[CheckResult] = []
    scores: dict[str, DriftScore] = {}
    for feature in rules.features:
        score = _score(feature, rules, reference, window)
        if score is None or math.isnan(score.score):
            checks.append(_check(f"drift.{feature}", "skip", f"{feature}: not compared (no values)"))
            continue
        scores[feature] = score
        checks.append(compare(GATE, f"drift.{feature}", f"{feature} {LABELS[score.method]}",
                              score.score, _threshold(rules, "warn"),
                              details={"method": score.method, **_brief(score.details)}))
    if not scores:
        return [*checks, _check("drift.dataset", "skip", "no feature could be compared")], {}, {}
    drifted = [name for name, score in scores.items() if score.drifted(rules.threshold)]
    summary = compare(GATE, "drift.dataset",
                      f"drifted feature fraction ({len(drifted)} of {len(scores)})",
                      len(drifted) / len(scores), Threshold(expr=f"<= {rules.max_drifted_features}"),
                      details={"drifted": drifted, HEADLINE: True})
    if drifted:
        summary.message += f"; drifted: {', '.join(drifted)}"
    chart = bars_chart(f"Drift per feature ({LABELS[rules.method]})",
                       {name: score.score for name, score in scores.items()},
                       threshold=rules.threshold,
                       higher_is_worse=rules.method not in P_VALUE_METHODS)
    return [*checks, summary], scores, {"drift": chart}


def _score(feature: str, rules: DriftRules, reference: ReferenceData,
           window: LogWindow) -> DriftScore | None:
    if feature in window.categorical:
        return score_categories(rules.method, reference.categories[feature],
                                window.categories[feature])
    if feature not in window.numeric:
        return None
    current = window.sample.column(window.numeric.index(feature))
    return score_numeric(rules.method, reference.column(feature), current, rules.bins)


def prediction_checks(rules: DriftRules, predictions: ReferencePredictions,
                      window: LogWindow) -> list[CheckResult]:
    """Live score (and label) distribution against the model's on the reference rows."""
    if window.rows < MIN_DRIFT_ROWS:
        return []
    threshold = _threshold(rules, "warn")
    live = window.scores.column(0)
    score = score_numeric(rules.method, predictions.scores, live, rules.bins)
    checks = [compare(GATE, "prediction.score",
                      f"prediction score shift vs the reference ({LABELS[score.method]})",
                      score.score, threshold, details={"method": score.method,
                                                       "reference_mean": float(np.mean(
                                                           predictions.scores)),
                                                       "live_mean": float(np.mean(live))})]
    if predictions.labels:
        labels = score_categories(rules.method, predictions.labels, window.predictions)
        checks.append(compare(
            GATE, "prediction.labels",
            f"predicted label shift vs the reference ({LABELS[labels.method]})", labels.score,
            _threshold(DriftRules(labels.method, rules.threshold, 0, 0, ()), "warn"),
            details={"reference": predictions.labels, "live": dict(window.predictions)}))
    return checks


def _brief(details: dict[str, Any]) -> dict[str, Any]:
    """Scalars only: per-bin counts would bloat every report."""
    return {k: v for k, v in details.items() if isinstance(v, int | float | str)}
