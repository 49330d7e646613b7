"""Task metrics in plain numpy, so the gate needs no scikit-learn at run time.

Definitions follow sklearn.metrics' defaults (checked against it in tests): precision/recall/F1
count the class at index 1 as positive, a zero denominator gives 0, macro/weighted averages run
over the classes present in the true or predicted labels, and a one-class ROC AUC is NaN (an
unmeasurable value fails its threshold instead of passing silently).

Which metrics exist, their labels and which task each measures are `core.catalogue`'s; `compute`
knows every name there (tests/core/test_catalogue.py computes each one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.catalogue import REGRESSION_METRICS, metrics_for
from mlops.core.contract import Task

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

@dataclass(frozen=True)
class Outputs:
    """What a model produced for a set of rows: class probabilities, or regression values."""

    proba: FloatArray | None = None
    values: FloatArray | None = None

    @property
    def labels(self) -> IntArray:
        """Predicted class indices (argmax of the probabilities)."""
        if self.proba is None:
            raise ValueError("labels need class probabilities")
        return np.asarray(np.argmax(self.proba, axis=1), dtype=np.int64)

    def subset(self, mask: npt.NDArray[Any]) -> Outputs:
        """The rows a boolean mask or an index array selects."""
        return Outputs(
            None if self.proba is None else self.proba[mask],
            None if self.values is None else self.values[mask],
        )


def confusion_matrix(y_true: IntArray, y_pred: IntArray, n_classes: int) -> IntArray:
    """Rows are true classes, columns predicted ones."""
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return np.asarray(flat.reshape(n_classes, n_classes), dtype=np.int64)


def accuracy(y_true: IntArray, y_pred: IntArray) -> float:
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def per_class(y_true: IntArray, y_pred: IntArray, n_classes: int) -> dict[str, FloatArray]:
    """Precision, recall, F1 and support of every class index below n_classes."""
    matrix = confusion_matrix(y_true, y_pred, n_classes).astype(np.float64)
    tp = np.diag(matrix)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    return {
        "precision": _divide(tp, predicted),
        "recall": _divide(tp, support),
        "f1": _divide(2 * tp, predicted + support),
        "support": support,
    }


def _averaged(kind: str, average: str, y_true: IntArray, y_pred: IntArray) -> float:
    n_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    scores = per_class(y_true, y_pred, n_classes)
    present = np.zeros(n_classes, dtype=bool)
    present[np.unique(np.concatenate([y_true, y_pred]))] = True
    values, support = scores[kind][present], scores["support"][present]
    if not len(values):
        return float("nan")
    if average == "macro":
        return float(values.mean())
    return float(np.sum(values * support) / support.sum()) if support.sum() else 0.0


def roc_auc(y_true: IntArray, score: FloatArray) -> float:
    """Binary ROC AUC as the Mann-Whitney U statistic, ties counted half."""
    positives = int(np.sum(y_true == 1))
    negatives = len(y_true) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    ranks = np.empty(len(score), dtype=np.float64)
    _, starts, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average_rank = starts + (counts + 1) / 2.0
    ranks[order] = np.repeat(average_rank, counts)
    rank_sum = float(ranks[y_true == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(y_true: IntArray, proba: FloatArray) -> float:
    eps = np.finfo(np.float64).eps
    clipped = np.clip(proba.astype(np.float64), eps, 1 - eps)
    return float(-np.mean(np.log(clipped[np.arange(len(y_true)), y_true])))


def rmse(y_true: FloatArray, values: FloatArray) -> float:
    return float(np.sqrt(np.mean((y_true - values) ** 2)))


def mae(y_true: FloatArray, values: FloatArray) -> float:
    return float(np.mean(np.abs(y_true - values)))


def r2(y_true: FloatArray, values: FloatArray) -> float:
    residual = float(np.sum((y_true - values) ** 2))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / total


def compute(name: str, y_true: npt.NDArray[np.generic], outputs: Outputs) -> float:
    """One named metric (the spec's names) of `outputs` against the true targets."""
    if name in REGRESSION_METRICS:
        if outputs.values is None:
            raise ValueError(f"{name} needs regression values")
        truth, values = y_true.astype(np.float64), outputs.values
        if not len(truth):
            return float("nan")
        return {"rmse": rmse, "mae": mae, "r2": r2}[name](truth, values)
    if outputs.proba is None:
        raise ValueError(f"{name} needs class probabilities")
    labels, predicted = y_true.astype(np.int64), outputs.labels
    if not len(labels):
        return float("nan")
    if name == "accuracy":
        return accuracy(labels, predicted)
    if name == "roc_auc":
        return roc_auc(labels, outputs.proba[:, 1].astype(np.float64))
    if name == "log_loss":
        return log_loss(labels, outputs.proba)
    kind, _, average = name.partition("_")
    if average:
        return _averaged(kind, average, labels, predicted)
    return float(per_class(labels, predicted, max(2, outputs.proba.shape[1]))[kind][1])


def compute_all(task: Task, y_true: npt.NDArray[np.generic], outputs: Outputs) -> dict[str, float]:
    """Every metric that applies to the task, in the catalogue's order."""
    return {name: compute(name, y_true, outputs) for name in metrics_for(task)}
