"""Live model performance: feedback labels joined to the logged predictions, scored with the model
gate's metric code. Feedback rows naming no logged row of the window are reported and left out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlops.core.catalogue import METRIC_LABELS
from mlops.spec.threshold import Threshold

from ..model import metrics as m
from ..result import HEADLINE, CheckResult
from .config import CHECK, PerformanceRules
from .feedback import Feedback, Key
from .requestlog import Served

SHOWN = 3


@dataclass(frozen=True)
class Live:
    """The joined rows: true labels (class indices or values) and what the server answered."""

    truth: list[float]
    predicted: list[int]
    scores: list[float]
    unknown: list[Key]
    unparsed: list[Key]


def join(feedback: Feedback, served: dict[Key, Served], task: str,
         labels: Sequence[str]) -> Live:
    live = Live([], [], [], [], [])
    for key, text in feedback.labels.items():
        answer = served.get(key)
        if answer is None:
            live.unknown.append(key)
            continue
        truth = _value(text, task, labels)
        predicted = 0 if task == "regression" else _value(str(answer.prediction), task, labels)
        if truth is None or predicted is None:
            live.unparsed.append(key)
            continue
        live.truth.append(truth)
        live.predicted.append(int(predicted))
        live.scores.append(answer.score)
    return live


def _value(text: str, task: str, labels: Sequence[str]) -> float | None:
    """A class name or index (classification), a number (regression)."""
    if task != "regression" and text in labels:
        return float(labels.index(text))
    try:
        value = float(text)
    except ValueError:
        return None
    if task != "regression" and (not value.is_integer() or value < 0
                                 or (labels and value >= len(labels))):
        return None
    return value if math.isfinite(value) else None


def feedback_check(feedback: Feedback, live: Live, matched: int) -> CheckResult:
    """How much of the feedback could be used; unknown ids are named, not fatal."""
    total = len(feedback.labels) + len(feedback.invalid)
    parts: list[str] = []
    if live.unknown:
        shown = ", ".join(f"'{rid}' row {row} ({feedback.display}:{feedback.lines[(rid, row)]})"
                          for rid, row in live.unknown[:SHOWN])
        more = f" and {len(live.unknown) - SHOWN} more" if len(live.unknown) > SHOWN else ""
        parts.append(f"{len(live.unknown)} name no logged request in the window and are ignored: "
                     f"{shown}{more}")
    bad = feedback.invalid + [f"{feedback.display}:{feedback.lines[k]}" for k in live.unparsed]
    if bad:
        more = f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
        parts.append(f"{len(bad)} have an unusable request_id, row or label and are ignored: "
                     f"{', '.join(bad[:SHOWN])}{more}")
    message = f"{feedback.display}: {matched} of {total} feedback rows joined to logged predictions"
    return CHECK("feedback", "warn" if parts else "pass",
                 message + ("; " + "; ".join(parts) if parts else ""), observed=matched,
                 details={"unknown": len(live.unknown), "invalid": len(bad)})


def live_value(metric: str, task: str, live: Live, n_classes: int) -> float:
    """The model gate's `metric` on joined rows (not empty), from what the log kept: the
    positive-class score (binary), the top class and its probability (multiclass), the value."""
    truth = np.array(live.truth)
    scores = np.array(live.scores, dtype=np.float64)
    if task == "regression":
        outputs = m.Outputs(values=scores)
    elif task == "binary_classification":
        outputs = m.Outputs(proba=np.stack([1.0 - scores, scores], axis=1))
    else:
        width = max(n_classes, int(truth.max()) + 1, max(live.predicted) + 1)
        proba = np.zeros((len(scores), width))
        proba[np.arange(len(scores)), live.predicted] = scores
        outputs = m.Outputs(proba=proba)
    return m.compute(metric, truth, outputs)


def performance_check(rules: PerformanceRules, task: str, live: Live,
                      n_classes: int) -> tuple[CheckResult, float | None]:
    """The live metric against monitors.performance.min; NaN when it cannot be computed."""
    name = f"performance.{rules.metric}"
    label = f"live {METRIC_LABELS.get(rules.metric, rules.metric)} on {len(live.truth)} labelled rows"
    if not live.truth:
        return CHECK(name, "skip", f"live {rules.metric} not computed: no feedback row matched "
                                   "a logged prediction in the window"), None
    if task == "multiclass_classification" and rules.metric == "log_loss":
        return CHECK(name, "skip", "live log_loss not computed: the request log keeps only the "
                                   "top class probability"), None
    value = live_value(rules.metric, task, live, n_classes)
    threshold = Threshold.of("<=" if rules.alert_when == "above" else ">=", rules.threshold)
    check = CHECK.compare(name, label, value, threshold,
                          details={"rows": len(live.truth), HEADLINE: True})
    return check, None if math.isnan(value) else value
