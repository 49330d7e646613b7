"""The names the spec, the code and the docs share, declared once: model metrics, drift methods,
benchmark statistics and load-test statistics, each with what the phases need to know about it.

The spec's enums and threshold fields, the gates' labels and units, the metric functions and the
generated reference are all derived from these tables; `tests/core/test_catalogue.py` checks that
they agree. (Prometheus names, which the server and the alert rules share, are `core.telemetry`.)
Adding a metric is one row here plus its function in `harness/model/metrics.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from .contract import Task

# --- model metrics -----------------------------------------------------------------------------

MetricName = Literal[
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
    "precision_macro", "recall_macro", "f1_macro", "precision_weighted", "recall_weighted",
    "f1_weighted", "rmse", "mae", "r2",
]
"""Every metric, in the order the spec, the reference and the reports list them."""


@dataclass(frozen=True)
class Metric:
    """One model metric: its name in the spec, its label in reports, which task it measures, and
    how it reads."""

    name: MetricName
    label: str
    regression: bool = False
    """A regression metric; otherwise a classification one."""
    binary_only: bool = False
    """Needs a positive class (the class at index 1), so it has no multiclass meaning."""
    lower_is_better: bool = False
    """An error (log loss, RMSE, MAE): a threshold is a ceiling, a regression is a rise."""


METRICS: tuple[Metric, ...] = (
    Metric("accuracy", "accuracy"),
    Metric("precision", "precision", binary_only=True),
    Metric("recall", "recall", binary_only=True),
    Metric("f1", "F1", binary_only=True),
    Metric("roc_auc", "ROC AUC", binary_only=True),
    Metric("log_loss", "log loss", lower_is_better=True),
    Metric("precision_macro", "macro precision"),
    Metric("recall_macro", "macro recall"),
    Metric("f1_macro", "macro F1"),
    Metric("precision_weighted", "weighted precision"),
    Metric("recall_weighted", "weighted recall"),
    Metric("f1_weighted", "weighted F1"),
    Metric("rmse", "RMSE", regression=True, lower_is_better=True),
    Metric("mae", "MAE", regression=True, lower_is_better=True),
    Metric("r2", "R²", regression=True),
)
METRIC_NAMES: tuple[MetricName, ...] = get_args(MetricName)
CLASSIFICATION_METRICS: tuple[MetricName, ...] = tuple(m.name for m in METRICS if not m.regression)
REGRESSION_METRICS: tuple[MetricName, ...] = tuple(m.name for m in METRICS if m.regression)
BINARY_ONLY_METRICS: tuple[MetricName, ...] = tuple(m.name for m in METRICS if m.binary_only)
LOWER_IS_BETTER: frozenset[str] = frozenset(m.name for m in METRICS if m.lower_is_better)
METRIC_LABELS: dict[str, str] = {m.name: m.label for m in METRICS}


def metrics_for(task: Task) -> tuple[MetricName, ...]:
    """Every metric that applies to a task, in the catalogue's order."""
    if task == "regression":
        return REGRESSION_METRICS
    if task == "multiclass_classification":
        return tuple(name for name in CLASSIFICATION_METRICS if name not in BINARY_ONLY_METRICS)
    return CLASSIFICATION_METRICS


# --- drift methods -----------------------------------------------------------------------------

DriftMethod = Literal["psi", "ks", "wasserstein", "jensen_shannon", "chi2"]


@dataclass(frozen=True)
class Drift:
    """One drift statistic: its label in reports, and whether its score is a p-value (a feature
    drifts when it is BELOW the threshold) or a distance (ABOVE it)."""

    name: DriftMethod
    label: str
    p_value: bool = False


DRIFT_METHODS: tuple[Drift, ...] = (
    Drift("psi", "PSI"),
    Drift("ks", "KS p-value", p_value=True),
    Drift("wasserstein", "Wasserstein (in reference sd)"),
    Drift("jensen_shannon", "Jensen-Shannon distance"),
    Drift("chi2", "chi-squared p-value", p_value=True),
)
DRIFT_LABELS: dict[str, str] = {d.name: d.label for d in DRIFT_METHODS}
P_VALUE_METHODS: frozenset[str] = frozenset(d.name for d in DRIFT_METHODS if d.p_value)


# --- benchmark and load-test statistics --------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    """A measured statistic a threshold can name: its label and unit in reports."""

    name: str
    label: str
    unit: str
    higher_is_better: bool = False
    """Throughput: a threshold is a floor, a regression is a drop (latencies and error rates rise)."""


LATENCY_PERCENTILES: tuple[Statistic, ...] = (
    Statistic("p50_ms", "p50 latency", "ms"),
    Statistic("p95_ms", "p95 latency", "ms"),
    Statistic("p99_ms", "p99 latency", "ms"),
)
"""Latency percentiles: the benchmark measures them per batch, the load test per request."""

BENCH_STATISTICS: tuple[Statistic, ...] = (
    *LATENCY_PERCENTILES,
    Statistic("mean_ms", "mean latency", "ms"),
    Statistic("rows_per_s", "throughput", "rows/s", higher_is_better=True),
)
"""What the benchmark gate measures per batch size; `benchmark.thresholds` keys are 'STAT@BATCH'."""
BENCH_STAT_NAMES: tuple[str, ...] = tuple(s.name for s in BENCH_STATISTICS)

LOAD_STATISTICS: tuple[Statistic, ...] = (
    *LATENCY_PERCENTILES,
    Statistic("error_rate", "error rate", ""),
    Statistic("rps", "throughput", "requests/s", higher_is_better=True),
)
"""What the load test measures; each is a field of `load.thresholds`, checked by the generated
locustfile and by the load gate."""
LOAD_STAT_NAMES: tuple[str, ...] = tuple(s.name for s in LOAD_STATISTICS)

