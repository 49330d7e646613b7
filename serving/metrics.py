"""Prometheus metrics of the server, named once in `mlops.core.telemetry` (the alert rules query them).

A small in-process registry rather than prometheus_client: the hot path is a dict update on the
event-loop thread (no locks), per-feature sums are added per batch with numpy, and several uvicorn
workers are merged by summing snapshot files, which is all the text format needs.
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import orjson

from mlops.core import telemetry as t
from mlops.core.columns import Columns, concat, stacked

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]

DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
FOLD_BATCHES = 64
FOLD_ROWS = 1024
"""Model runs wait, up to FOLD_BATCHES runs or FOLD_ROWS rows (or the next scrape), to have their
inputs and scores added up in one numpy pass: run by run, a one-row request's metrics cost more
than its model (12% of the server's CPU at one connection, py-spy), since a numpy call costs
about the same for one row as for thousands. The pass runs on the request that fills the
window, so the window stays small: 64 one-row runs take ~0.09 ms (1.4 us a run, as 256 do) and
1,024 rows of 64-row runs ~0.15 ms, where 4,096 rows took 1.1-1.6 ms and put every 64th
64-row request in the p99 at one connection (bench/serve/NOTES.md, session 30)."""
GAUGES = frozenset(m.name for m in t.SERVER_METRICS if m.kind == "gauge") - {
    m.name for m in t.UPLOAD_METRICS}
"""Gauges of the whole server (readiness, model info): several workers' values merge to the
lowest. A worker's own gauges (its upload buffer) add up like counters."""


class Histogram:
    """Cumulative-on-render histogram for one label set."""

    __slots__ = ("bounds", "count", "counts", "sorted", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.sorted = np.array(self.bounds, dtype=np.float64)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def observe_many(self, values: np.ndarray) -> None:
        """A batch's values with two numpy calls; only the buckets they hit are touched."""
        hits = np.bincount(self.sorted.searchsorted(values, side="left"),
                           minlength=len(self.counts))
        for index in np.flatnonzero(hits).tolist():
            self.counts[index] += int(hits[index])
        self.total += float(values.sum())
        self.count += len(values)

    def samples(self, name: str, labels: Labels) -> Iterable[Sample]:
        running = 0
        for bound, hits in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += hits
            yield f"{name}_bucket", (*labels, ("le", _number(bound))), float(running)
        yield f"{name}_sum", labels, self.total
        yield f"{name}_count", labels, float(self.count)


class ServerMetrics:
    """Every metric of `mlops.core.telemetry.SERVER_METRICS`, for one model."""

    def __init__(self, model: str, features: Sequence[str], value_buckets: Sequence[float],
                 info: Labels = (), variant: str = "champion", labels: Sequence[str] = (),
                 positive: int | None = None) -> None:
        """`features`: the numeric input columns, whose values are summed; `info`: the
        version, digest and commit labels of `mlops_model_info`; `variant` labels every series
        (champion or challenger), so a challenger's traffic never counts as the champion's;
        `labels`: a classifier's classes, in score order (none for a regression), and
        `positive` the one whose probability is the prediction value (binary), else the
        highest probability is."""
        self.model = (("model", model), ("variant", variant))
        self.info = (*self.model, *info)
        self.features = tuple(features)
        self.labels = tuple(labels)
        self.positive = positive
        self._pending: list[tuple[Columns, np.ndarray]] = []
        self._pending_rows = 0
        """Runs not added up yet, and their rows: see `FOLD_BATCHES`."""
        self.value_buckets = tuple(value_buckets)
        self.requests: dict[tuple[str, str], float] = {}
        self.durations: dict[str, Histogram] = {}
        self.errors: dict[str, float] = {}
        self.batches = Histogram(BATCH_BUCKETS)
        self.label_counts: dict[str, float] = {}
        self.values = Histogram(value_buckets)
        self.feature_sums = np.zeros(len(self.features), dtype=np.float64)
        self.feature_counts = np.zeros(len(self.features), dtype=np.float64)
        self.violations: dict[tuple[str, str], float] = {}
        self.ready = 0.0
        self.upload: Callable[[Labels], Iterable[Sample]] | None = None
        """The request-log uploader's samples (serving.request_log.upload), when it runs."""

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, str(status))
        self.requests[key] = self.requests.get(key, 0.0) + 1.0
        histogram = self.durations.get(endpoint)
        if histogram is None:
            histogram = self.durations[endpoint] = Histogram(DURATION_BUCKETS)
        histogram.observe(seconds)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0.0) + 1.0

    def violation(self, feature: str, rule: str) -> None:
        key = (feature, rule)
        self.violations[key] = self.violations.get(key, 0.0) + 1.0

    def batch(self, columns: Columns, rows: int, scores: np.ndarray) -> None:
        """One model run: its size, its inputs and its scores (probabilities [rows, classes] of
        a classifier, values [rows] of a regression)."""
        self.batches.observe(rows)
        self._pending.append((columns, scores))
        self._pending_rows += rows
        if len(self._pending) >= FOLD_BATCHES or self._pending_rows >= FOLD_ROWS:
            self._fold()

    def _fold(self) -> None:
        """Add the pending batches to the feature sums, label counts and prediction values."""
        pending, self._pending, self._pending_rows = self._pending, [], 0
        if not pending:
            return
        if self.features:
            block = stacked(concat([columns for columns, _ in pending]), self.features)
            sums = block.sum(axis=1)
            if np.isnan(sums).any():  # only runs with a missing value pay for the mask
                missing = np.isnan(block)
                self.feature_sums += np.where(missing, 0.0, block).sum(axis=1)
                self.feature_counts += block.shape[1] - missing.sum(axis=1)
            else:
                self.feature_sums += sums
                self.feature_counts += block.shape[1]
        scores = np.concatenate([batch_scores for _, batch_scores in pending])
        if not self.labels:
            self.values.observe_many(scores)
            return
        counts = np.bincount(scores.argmax(axis=1), minlength=len(self.labels)).tolist()
        for label, count in zip(self.labels, counts, strict=True):
            if count:
                self.label_counts[label] = self.label_counts.get(label, 0.0) + count
        self.values.observe_many(scores[:, self.positive] if self.positive is not None
                                 else scores.max(axis=1))

    def samples(self) -> list[Sample]:
        self._fold()
        m = self.model
        out: list[Sample] = []
        for (endpoint, status), value in self.requests.items():
            out.append((t.REQUESTS.name, (*m, ("endpoint", endpoint), ("status", status)), value))
        for endpoint, histogram in self.durations.items():
            out.extend(histogram.samples(t.REQUEST_DURATION.name, (*m, ("endpoint", endpoint))))
        for kind, value in self.errors.items():
            out.append((t.ERRORS.name, (*m, ("kind", kind)), value))
        out.extend(self.batches.samples(t.BATCH_SIZE.name, m))
        for label, value in self.label_counts.items():
            out.append((t.PREDICTIONS.name, (*m, ("label", label)), value))
        out.extend(self.values.samples(t.PREDICTION_VALUE.name, m))
        for feature, total, count in zip(self.features, self.feature_sums.tolist(),
                                         self.feature_counts.tolist(), strict=True):
            labels = (*m, ("feature", feature))
            out.append((f"{t.FEATURE_VALUE.name}_sum", labels, total))
            out.append((f"{t.FEATURE_VALUE.name}_count", labels, count))
        for (feature, rule), value in self.violations.items():
            out.append((t.SCHEMA_VIOLATIONS.name, (*m, ("feature", feature), ("rule", rule)), value))
        out.append((t.MODEL_READY.name, m, self.ready))
        out.append((t.MODEL_INFO.name, self.info, 1.0))
        if self.upload is not None:
            out.extend(self.upload(m))
        return out


def merge(snapshots: Iterable[Iterable[Sample]]) -> list[Sample]:
    """Sum samples of several worker processes; gauges (readiness, info) take the minimum."""
    merged: dict[tuple[str, Labels], float] = {}
    for snapshot in snapshots:
        for name, labels, value in snapshot:
            key = (name, labels)
            if key not in merged:
                merged[key] = value
            elif name in GAUGES:
                merged[key] = min(merged[key], value)
            else:
                merged[key] += value
    return [(name, labels, value) for (name, labels), value in merged.items()]


def render(samples: Sequence[Sample]) -> bytes:
    """Prometheus text format 0.0.4, one HELP/TYPE block per metric of the contract."""
    by_family: dict[str, list[Sample]] = {}
    for sample in samples:
        by_family.setdefault(_family(sample[0]), []).append(sample)
    lines: list[str] = []
    for metric in t.SERVER_METRICS:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for name, labels, value in by_family.get(metric.name, []):
            text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
            lines.append(f"{name}{{{text}}} {_number(value)}")
    return ("\n".join(lines) + "\n").encode()


_FAMILIES = {m.name for m in t.SERVER_METRICS}


def _family(sample_name: str) -> str:
    if sample_name in _FAMILIES:
        return sample_name
    return sample_name.rsplit("_", 1)[0] if not sample_name.endswith("_bucket") else (
        sample_name.removesuffix("_bucket"))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class SharedMetrics:
    """Worker processes publish snapshots to one folder; any worker renders the sum of them all."""

    def __init__(self, folder: Path, metrics: ServerMetrics) -> None:
        self.folder = folder
        self.metrics = metrics
        self.own = folder / f"{os.getpid()}.json"

    def publish(self) -> None:
        temporary = self.own.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(self.metrics.samples()))
        os.replace(temporary, self.own)

    def collect(self) -> list[Sample]:
        self.publish()
        snapshots = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                raw = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # a worker replacing its file right now; its next snapshot counts
            snapshots.append([(n, tuple((k, v) for k, v in labels), value)
                              for n, labels, value in raw])
        return merge(snapshots)
