"""Benchmark gate: onnxruntime latency and throughput per batch size, against thresholds and
against the baseline model timed in the same run.

Absolute latencies move with the machine (a shared 2-core CI runner is noisy), so the slowdown
check times candidate and baseline INTERLEAVED — each iteration runs both, in alternating order —
and compares their medians: whatever slows one down slows the other too, and the ratio holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.catalogue import BENCH_STATISTICS
from mlops.core.columns import Columns, concat, length, take, valid_rows
from mlops.core.runtime import FeedError, ModelError, OnnxModel
from mlops.harness.baseline import BaselineUnavailable, read_baseline
from mlops.harness.gate import GateOptions
from mlops.harness.model.loading import load_model
from mlops.harness.model.testset import DataProblem, read_chunks
from mlops.harness.result import CheckFactory, CheckResult, GateResult, bars_chart, percentiles_chart
from mlops.spec.loader import LoadedSpec
from mlops.spec.semantic import parse_bench_key
from mlops.spec.threshold import Threshold, format_number

GATE_NAME = "bench"
CHECK = CheckFactory(GATE_NAME)
STATISTICS = {statistic.name: statistic for statistic in BENCH_STATISTICS}


@dataclass(frozen=True)
class Timing:
    """Seconds per run of one model at one batch size."""

    batch: int
    seconds: npt.NDArray[np.float64]

    def stats(self) -> dict[str, float]:
        ms = self.seconds * 1000
        return {
            "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()),
            "rows_per_s": self.batch / float(self.seconds.mean()),
        }


@dataclass(frozen=True)
class Reference:
    """The baseline model, where it came from, and its size in bytes."""

    model: OnnxModel
    where: str
    size: int


def time_interleaved(
    models: list[OnnxModel], batch: Columns, warmup: int, iterations: int
) -> list[Timing]:
    """Time every model on the same rows, alternating the order on each iteration. Each model's
    inputs are built from the raw rows once, outside the timing: the runs measure inference."""
    feeds = [model.feed(batch) for model in models]
    for _ in range(warmup):
        for model, feed in zip(models, feeds, strict=True):
            model.run_feed(feed)
    samples = np.empty((len(models), iterations), dtype=np.float64)
    order = list(range(len(models)))
    for iteration in range(iterations):
        for index in order if iteration % 2 == 0 else reversed(order):
            start = time.perf_counter()
            models[index].run_feed(feeds[index])
            samples[index, iteration] = time.perf_counter() - start
    return [Timing(length(batch), row) for row in samples]


def input_rows(loaded: LoadedSpec, size: int) -> dict[str, npt.NDArray[Any]]:
    """The test split's first `size` rows (repeated as needed), or rows obeying data.schema
    without readable test data. Reading stops once `size` rows are in: timing needs a batch, not
    the split."""
    chunks: list[Columns] = []
    try:
        for chunk in read_chunks(loaded, loaded.spec.data.features):
            chunks.append(chunk.columns)
            if sum(length(part) for part in chunks) >= size:
                break
    except DataProblem:
        chunks = []
    if not chunks:
        return valid_rows(loaded.spec.data.feature_rules(), size)
    rows = concat(chunks)
    return take(rows, np.resize(np.arange(length(rows)), size))


class BenchGate:
    name = GATE_NAME

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        spec = loaded.spec
        settings = spec.benchmark
        artifact = loaded.resolve(spec.model.artifact)
        if not artifact.is_file():
            return CHECK.only("inputs", "error",
                              f"model artifact {spec.model.artifact} not found; run model.train")
        try:
            candidate = load_model(loaded, threads=settings.threads)
        except ModelError as error:
            return CHECK.only("inputs", "error", str(error))
        models, checks = [candidate], []
        baseline: Reference | None = None
        if settings.max_slowdown is not None:
            found = self._baseline(loaded)
            if isinstance(found, str):
                checks.append(CHECK("slowdown", "skip", found))
            else:
                baseline = found
                models.append(found.model)
        rows = input_rows(loaded, max(settings.batch_sizes))
        try:
            timings = {
                size: time_interleaved(models, take(rows, slice(0, size)), settings.warmup,
                                       settings.iterations)
                for size in settings.batch_sizes
            }
        except FeedError as error:
            return CHECK.only("inputs", "error", f"the test rows cannot be fed: {error}")
        stats = {size: [t.stats() for t in pair] for size, pair in timings.items()}
        for key, threshold in settings.thresholds.items():
            stat, size = parse_bench_key(key)
            statistic = STATISTICS[stat]
            base = stats[size][1][stat] if len(models) > 1 else None
            label = f"{statistic.label} at batch {size}"
            checks.append(CHECK.compare(key, label, stats[size][0][stat], threshold,
                                        unit=statistic.unit, baseline=base))  # fmt: skip
        if settings.max_slowdown is not None and baseline is not None:
            limit = Threshold.of("<=", settings.max_slowdown)
            for size in settings.batch_sizes:
                new, old = stats[size][0]["p50_ms"], stats[size][1]["p50_ms"]
                label = (
                    f"p50 latency at batch {size} relative to the baseline at {baseline.where} "
                    f"({format_number(round(new, 4))} ms vs {format_number(round(old, 4))} ms)"
                )
                checks.append(CHECK.compare(f"slowdown@{size}", label, new / old, limit,
                                            unit="x", baseline=1.0))  # fmt: skip
        checks.append(_size_check(artifact.stat().st_size, baseline))
        charts = {
            f"latency@{size}": percentiles_chart(
                f"Inference latency, batch {size} ({settings.threads} thread(s))",
                {k: v for k, v in stats[size][0].items() if k.endswith("_ms")},
                slo=_slo(loaded, size),
            )
            for size in settings.batch_sizes
        }
        charts["throughput"] = bars_chart(
            "Throughput (rows/s) per batch size",
            {f"batch {size}": stats[size][0]["rows_per_s"] for size in settings.batch_sizes},
            higher_is_worse=False,
        )
        return GateResult(gate=GATE_NAME, checks=checks, charts=charts)

    def _baseline(self, loaded: LoadedSpec) -> Reference | str:
        """The baseline model to time beside the candidate, or why there is none."""
        spec = loaded.spec
        if spec.model.baseline is None:
            return "no model.baseline is configured, so the slowdown is not measured"
        try:
            found = read_baseline(loaded.root, spec.model.baseline.ref, spec.model.artifact)
        except BaselineUnavailable as reason:
            return f"{reason}; slowdown not measured"
        if found.model is None:
            return f"{'; '.join(found.missing)}; slowdown not measured"
        try:
            model = load_model(loaded, found.model, threads=spec.benchmark.threads,
                               where=f"the baseline at {found.where}")
        except ModelError as error:
            return f"the baseline model at {found.where} is not usable ({error}); not measured"
        return Reference(model, found.where, len(found.model))


def _size_check(size: int, baseline: Reference | None) -> CheckResult:
    """Informational: the artifact's size, which the image and cold start carry."""
    message = f"model size {_bytes(size)}"
    if baseline is not None:
        message += f" (baseline at {baseline.where}: {_bytes(baseline.size)})"
    return CHECK("model_size", "pass", message, observed=float(size), unit="bytes",
                 baseline=None if baseline is None else float(baseline.size))


def _slo(loaded: LoadedSpec, size: int) -> dict[str, float]:
    """Latency thresholds at this batch size, drawn as lines on the percentile chart."""
    result = {}
    for key, threshold in loaded.spec.benchmark.thresholds.items():
        stat, batch = parse_bench_key(key)
        if batch == size and stat.endswith("_ms"):
            result[stat] = threshold.comparison.value
    return result


def _bytes(size: int) -> str:
    for unit, factor in (("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


GATE = BenchGate()
