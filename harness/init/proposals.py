"""Thresholds proposed from what was measured, each rule stated once (the spec's comments quote
these constants).

Data-derived and model-derived values are deterministic (the same files and model give the same
numbers), so they are the measured value with a margin. Timings are not: they move with the
machine and its load, so a latency or throughput SLO is derived from the MEDIAN of many runs (far
steadier than a p95), multiplied by a wide factor and rounded to the coarse 1-2-5 grid, and never
tighter than a floor (latency) or a cap (throughput) that every model fast enough to meet them
gets exactly: two runs write the same file unless a model sits near those limits, where a noisy
measurement close to a grid step may move an SLO by one step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from mlops.core.catalogue import LOWER_IS_BETTER, MetricName
from mlops.core.contract import Task

from .rounding import ceil_significant, ceil_to, exact, floor_to, grid_down, grid_up

Severity = Literal["error", "warn"]

# --- model metrics ---------------------------------------------------------------------------

METRICS: dict[Task, tuple[MetricName, ...]] = {
    "binary_classification": ("accuracy", "f1", "roc_auc", "log_loss"),
    "multiclass_classification": ("accuracy", "f1_macro", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
WARN_ONLY: frozenset[str] = frozenset({"log_loss"})
"""Metrics whose threshold only warns: a calibration signal, not a release blocker."""
NO_REGRESSION: dict[Task, dict[MetricName, float]] = {
    "binary_classification": {"f1": 0.02, "roc_auc": 0.02},
    "multiclass_classification": {"accuracy": 0.02, "f1_macro": 0.02},
    "regression": {"r2": 0.02},
}
METRIC_MARGIN = Decimal("0.02")
"""A score's threshold: the measured value minus this, rounded down to 0.01."""
ERROR_MARGIN = Decimal("1.1")
"""An error's threshold: the measured value times this, rounded up to 2 significant digits."""
UNBOUNDED = frozenset({"r2"})
"""Scores that may be negative (others stop at 0)."""


@dataclass(frozen=True)
class MetricThreshold:
    name: MetricName
    operator: str
    limit: Decimal
    severity: Severity
    measured: float


def metric_thresholds(task: Task, measured: Mapping[str, float]) -> list[MetricThreshold]:
    """One threshold per metric of the task that could be measured (a one-class ROC AUC is not)."""
    result = []
    for name in METRICS[task]:
        value = measured.get(name)
        if value is None or value != value:
            continue
        severity: Severity = "warn" if name in WARN_ONLY else "error"
        if name in LOWER_IS_BETTER:
            result.append(MetricThreshold(name, "<=", ceil_significant(exact(value) * ERROR_MARGIN),
                                          severity, value))
            continue
        limit = floor_to(exact(round(value, 6)) - METRIC_MARGIN, Decimal("0.01"))
        if name not in UNBOUNDED:
            limit = max(limit, Decimal(0))
        result.append(MetricThreshold(name, ">=", limit, severity, value))
    return result


FLIP_MARGIN = Decimal("0.02")
FLIP_FLOOR = Decimal("0.05")


def max_flip_fraction(flipped: int, perturbed: int) -> Decimal:
    """The measured flip fraction plus FLIP_MARGIN, rounded up to 0.01, at least FLIP_FLOOR (the
    spec's default)."""
    fraction = Decimal(flipped) / Decimal(perturbed) if perturbed else Decimal(0)
    return max(FLIP_FLOOR, ceil_to(fraction + FLIP_MARGIN, Decimal("0.01")))


# --- data checks ------------------------------------------------------------------------------

NULL_MARGIN = Decimal("0.05")


def min_rows(smallest: int) -> int:
    """Half the smallest file's rows, rounded down to the 1-2-5 grid (at least 1)."""
    return int(grid_down(Decimal(smallest) / 2)) if smallest >= 2 else 1


def max_null_fraction(worst: float) -> Decimal:
    """The largest null fraction of any column in any file plus NULL_MARGIN, rounded up to 0.05
    (0 when there are no nulls)."""
    if worst <= 0:
        return Decimal(0)
    return min(Decimal(1), ceil_to(exact(round(worst, 6)) + NULL_MARGIN, NULL_MARGIN))


def min_class_fraction(smallest: float) -> Decimal:
    """Half the smallest class's share in any file, rounded down to 0.01."""
    return floor_to(exact(round(smallest, 6)) / 2, Decimal("0.01"))


# --- benchmark and load SLOs ------------------------------------------------------------------

LATENCY_FACTOR = Decimal(10)
LATENCY_FLOOR_MS = Decimal(10)
THROUGHPUT_DIVISOR = Decimal(10)
THROUGHPUT_CAP = Decimal(1000)
LOAD_FACTOR = Decimal(20)
LOAD_P95_FLOOR_MS = Decimal(250)
LOAD_P99_FACTOR = Decimal(4)
LOAD_USERS = 8
LOAD_DURATION = "10s"
ERROR_RATE = Decimal("0.01")


@dataclass(frozen=True)
class Slos:
    p95_ms_at_1: Decimal
    rows_per_s_at_64: Decimal
    load_p95_ms: Decimal
    load_p99_ms: Decimal
    load_rps: Decimal


def slos(p50_ms: Mapping[int, float]) -> Slos:
    """Benchmark SLOs from the median latencies at batch 1 and 64, and load-test SLOs from the
    one at 64 (a coalesced batch of the server is at most that): see the module for why."""
    at_1, at_64 = exact(round(p50_ms[1], 6)), exact(round(p50_ms[64], 6))
    rate = Decimal(64) * 1000 / at_64 if at_64 > 0 else THROUGHPUT_CAP * THROUGHPUT_DIVISOR
    load_p95 = max(LOAD_P95_FLOOR_MS, grid_up(at_64 * LOAD_FACTOR)) if at_64 > 0 else LOAD_P95_FLOOR_MS
    return Slos(
        p95_ms_at_1=max(LATENCY_FLOOR_MS, grid_up(at_1 * LATENCY_FACTOR)) if at_1 > 0 else LATENCY_FLOOR_MS,
        rows_per_s_at_64=min(THROUGHPUT_CAP, grid_down(rate / THROUGHPUT_DIVISOR)),
        load_p95_ms=load_p95,
        load_p99_ms=load_p95 * LOAD_P99_FACTOR,
        load_rps=grid_down(Decimal(LOAD_USERS) * 1000 / load_p95 / 2),
    )
