"""The candidate against the baseline model, loaded in the same run: the ratio of every load
statistic, the regression checks of `load.max_regression`, the line a reviewer reads first and
the chart under it.

A ratio is candidate / baseline. An error rate of 0 on both sides is a ratio of 1 (nothing
changed); errors where the baseline had none are an infinite ratio, which no limit allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from mlops.core.catalogue import LOAD_STATISTICS, Statistic
from mlops.harness.result import HEADLINE, CheckFactory, CheckResult, comparison_chart
from mlops.spec.threshold import Threshold

from .locust import LoadStats, percentile

LATENCY_PERCENTILES: dict[str, float] = {
    "p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90, "p95": 0.95, "p99": 0.99,
    "p99.9": 0.999,
}  # fmt: skip
"""Where the chart reads each latency distribution."""


@dataclass(frozen=True)
class Comparison:
    """Both models' statistics, and where the baseline came from."""

    candidate: LoadStats
    baseline: LoadStats
    ref: str
    where: str
    """'origin/main (3f2a1bc)': the ref and its commit."""

    def ratio(self, name: str) -> float:
        new, old = self.candidate.observed()[name], self.baseline.observed()[name]
        if old == 0:
            return 1.0 if new == 0 else math.inf
        return new / old

    def describe(self, statistic: Statistic) -> str:
        """'p95 21 vs 20 ms (1.05x)'."""
        new, old = self.candidate.observed()[statistic.name], self.baseline.observed()[statistic.name]
        short = statistic.name.removesuffix("_ms").replace("_", " ")
        if statistic.name == "error_rate":
            return f"error rate {_percent(new)} vs {_percent(old)}"
        if statistic.name == "rps":
            return f"{_count(new)} vs {_count(old)} requests/s ({_times(self.ratio('rps'))})"
        return f"{short} {_ms(new)} vs {_ms(old)} ms ({_times(self.ratio(statistic.name))})"


def regression_checks(check: CheckFactory, comparison: Comparison,
                      limits: Mapping[str, Threshold], same_model: bool = False) -> list[CheckResult]:
    """One check per limit of `load.max_regression`, on the ratio candidate / baseline.

    When the baseline's model is byte for byte the candidate's, both are served by the same code
    with the same settings in the same run, so a ratio past its limit can only be the machine's
    noise: it warns, saying so, instead of failing a change that did not touch the model."""
    checks = []
    for statistic in LOAD_STATISTICS:
        limit = limits.get(statistic.name)
        if limit is None:
            continue
        new = comparison.candidate.observed()[statistic.name]
        old = comparison.baseline.observed()[statistic.name]
        unit = f" {statistic.unit}" if statistic.unit else ""
        label = (f"{statistic.label} {_value(statistic, new)}{unit} against "
                 f"{_value(statistic, old)}{unit} on {comparison.ref}, a ratio of")
        found = check.compare(f"regression.{statistic.name}", label,
                              comparison.ratio(statistic.name), limit, unit="x",
                              details={HEADLINE: True, "candidate": new, "baseline": old})
        if same_model and found.status == "fail":
            found = found.model_copy(update={"status": "warn", "message": (
                f"{found.message}; not failed: the baseline's model is byte for byte this one, "
                "so this is the run's noise")})
        checks.append(found)
    return checks


def baseline_message(comparison: Comparison, rounds: int, round_s: float, same_model: bool) -> str:
    """Every statistic of both models, the baseline's commit and how they were measured."""
    figures = ", ".join(comparison.describe(statistic) for statistic in LOAD_STATISTICS)
    how = (f"{rounds} alternating rounds of {_count(round_s)} s per model" if rounds > 1
           else f"one run of {_count(round_s)} s per model")
    same = ("; the baseline's model is byte for byte this one, so the ratios show this run's noise"
            if same_model else "")
    return f"this change vs the baseline at {comparison.where}, {how}: {figures}{same}"


def headline(candidate: LoadStats, comparison: Comparison | None, missing: str | None) -> str:
    """The one line a reviewer reads first:
    'p95 2.1 ms vs 2.0 ms on main (1.05x), 8,700 vs 8,900 req/s (0.98x)'."""
    new = candidate.observed()
    errors = f", {_percent(new['error_rate'])} errors" if candidate.failures else ""
    if comparison is None:
        return (f"p95 {_ms(new['p95_ms'])} ms, {_count(new['rps'])} req/s{errors}; not compared "
                f"with a baseline: {missing}")
    old = comparison.baseline.observed()
    line = (f"p95 {_ms(new['p95_ms'])} ms vs {_ms(old['p95_ms'])} ms on {comparison.ref} "
            f"({_times(comparison.ratio('p95_ms'))}), {_count(new['rps'])} vs "
            f"{_count(old['rps'])} req/s ({_times(comparison.ratio('rps'))})")
    if candidate.failures or comparison.baseline.failures:
        line += f", errors {_percent(new['error_rate'])} vs {_percent(old['error_rate'])}"
    return line


def chart(comparison: Comparison, slo: Mapping[str, float]) -> dict[str, object]:
    """Both latency distributions and both throughput curves, in one chart."""
    runs = (comparison.candidate, comparison.baseline)
    latency = [[percentile(run.timings or run.histogram, q) for q in LATENCY_PERCENTILES.values()]
               for run in runs]
    return comparison_chart(
        "This change against the baseline, loaded in the same run",
        ["this change", f"baseline {comparison.where}"], list(LATENCY_PERCENTILES), latency,
        [run.requests_per_s for run in runs], slo=slo,
    )  # fmt: skip


def _value(statistic: Statistic, value: float) -> str:
    if statistic.name == "error_rate":
        return f"{value:.4g}"
    return _count(value) if statistic.name == "rps" else _ms(value)


def _ms(value: float) -> str:
    """2.1, 21, 1,234: a tenth of a millisecond below 10 ms, whole ones above."""
    if not math.isfinite(value):
        return "NaN"
    return f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def _count(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "NaN"


def _percent(value: float) -> str:
    return f"{value:.2%}".replace(".00%", "%") if math.isfinite(value) else "NaN"


def _times(ratio: float) -> str:
    if math.isnan(ratio):
        return "NaN"
    return f"{ratio:.2f}x" if math.isfinite(ratio) else "∞"
