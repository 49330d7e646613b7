"""Input drift per feature and prediction shift, scored with the data gate's statistics.

A feature over the threshold is a warning; the alert is the data gate's dataset verdict
(`harness.data.drift`), the drifted-feature fraction above `max_drifted_features` (what the
generated rule MlopsDriftDetected checks). Prediction shift compares the live scores (and
predicted labels) with the model's on the reference rows; it warns, it does not alert: the spec
sets no threshold of its own for it.
"""

from __future__ import annotations

import numpy as np

from mlops.core.catalogue import DRIFT_LABELS

from ..data.drift import DriftVerdict, drift_threshold, judge
from ..result import CheckResult
from ..stats import DriftScore, score_categories, score_numeric
from .config import CHECK, DriftRules
from .reference import ReferenceData, ReferencePredictions
from .requestlog import LogWindow

MIN_DRIFT_ROWS = 50
"""Fewer logged rows than this and drift is not judged: a 10-bin PSI of a dozen rows is noise, and a
quiet night must not open an issue and start a retraining."""


def drift_checks(rules: DriftRules, reference: ReferenceData, window: LogWindow) -> DriftVerdict:
    """Per-feature checks (warnings), the dataset verdict, the scores (for metrics) and a chart."""
    if window.rows < MIN_DRIFT_ROWS:
        return DriftVerdict([CHECK("drift.dataset", "skip",
                                   f"drift not judged: {window.rows} rows in the window, at least "
                                   f"{MIN_DRIFT_ROWS} are needed")])
    compared = {feature: _score(feature, rules, reference, window) or "no values"
                for feature in rules.features}
    return judge(CHECK, rules, compared, feature_severity="warn")


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
    live = window.scores.column(0)
    score = score_numeric(rules.method, predictions.scores, live, rules.bins)
    checks = [CHECK.compare("prediction.score",
                            f"prediction score shift vs the reference ({DRIFT_LABELS[score.method]})",
                            score.score, drift_threshold(rules.method, rules.threshold, "warn"),
                            details={"method": score.method,
                                     "reference_mean": float(np.mean(predictions.scores)),
                                     "live_mean": float(np.mean(live))})]
    if predictions.labels:
        labels = score_categories(rules.method, predictions.labels, window.predictions)
        checks.append(CHECK.compare(
            "prediction.labels",
            f"predicted label shift vs the reference ({DRIFT_LABELS[labels.method]})", labels.score,
            drift_threshold(labels.method, rules.threshold, "warn"),
            details={"reference": predictions.labels, "live": dict(window.predictions)}))
    return checks
