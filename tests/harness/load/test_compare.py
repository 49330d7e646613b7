"""The load gate's comparison with its baseline, on measured statistics built by hand: how the
duration is cut into rounds, the running order, merging rounds, ratios, the reviewer's line and
the regression checks' sentences."""

from __future__ import annotations

import math

import pytest

from mlops.harness.load.compare import Comparison, baseline_message, chart, headline, regression_checks
from mlops.harness.load.locust import LoadStats, merge
from mlops.harness.load.measure import Plan, plan, schedule
from mlops.harness.result import CheckFactory
from mlops.spec.threshold import Threshold


def stats(p95: float, rps: float, *, requests: int = 1000, failures: int = 0,
          seconds: int = 4) -> LoadStats:
    """A run whose response times are 1 ms, then `p95` ms from the 95th percentile on."""
    timings = {1.0: int(requests * 0.94), p95: requests - int(requests * 0.94)}
    return LoadStats(requests=requests, failures=failures, rps=rps,
                     percentiles={"p50_ms": 1.0, "p95_ms": p95, "p99_ms": p95}, max_ms=p95,
                     histogram={round(k): v for k, v in timings.items()}, timings=timings,
                     elapsed_s=requests / rps, seconds=[float(s) for s in range(seconds)],
                     requests_per_s=[rps] * seconds, failures_per_s=[0.0] * seconds,
                     history={"seconds": [], "p50_ms": [], "p95_ms": []})  # fmt: skip


def test_rounds_last_at_least_two_seconds_and_add_up_to_about_the_duration() -> None:
    assert plan(20, 4) == Plan(4, 5.0)
    assert plan(15, 4) == Plan(4, 4.0)
    assert plan(5, 4) == Plan(2, 2.0)
    assert plan(3, 4) == Plan(1, 3.0)
    assert plan(1, 4) == Plan(1, 2.0)


def test_the_order_alternates_so_a_drift_falls_on_both() -> None:
    assert schedule(2) == [(1, "candidate"), (1, "baseline"), (2, "baseline"), (2, "candidate")]
    assert [role for _, role in schedule(4)].count("candidate") == 4


def test_rounds_merge_into_one_measurement() -> None:
    merged = merge([stats(5.0, 100.0, requests=400), stats(9.0, 300.0, requests=1200)])
    assert merged.requests == 1600
    assert merged.rps == pytest.approx(1600 / (4 + 4))
    # pooled response times (6% slow: 24 at 5 ms, 72 at 9 ms), not an average of the runs'
    assert merged.percentiles == {"p50_ms": 1.0, "p95_ms": 5.0, "p99_ms": 9.0}
    # each run's first and last (partial) second are left out of the curve
    assert merged.requests_per_s == [100.0, 100.0, 300.0, 300.0]
    assert merged.seconds == [0.0, 1.0, 2.0, 3.0]


def test_ratios_are_candidate_over_baseline_and_no_errors_on_both_sides_is_no_change() -> None:
    same = Comparison(stats(4.0, 800.0), stats(2.0, 1000.0), "main", "main (abc1234)")
    assert same.ratio("p95_ms") == 2.0
    assert same.ratio("rps") == 0.8
    assert same.ratio("error_rate") == 1.0
    errors = Comparison(stats(2.0, 1000.0, failures=10), stats(2.0, 1000.0), "main", "main (abc1234)")
    assert math.isinf(errors.ratio("error_rate"))


def test_the_reviewers_line() -> None:
    comparison = Comparison(stats(2.1, 8700.0), stats(2.0, 8900.0), "main", "main (abc1234)")
    assert headline(comparison.candidate, comparison, None) == (
        "p95 2.1 ms vs 2.0 ms on main (1.05x), 8,700 vs 8,900 req/s (0.98x)")
    failing = Comparison(stats(21.0, 870.0, failures=12), stats(20.0, 890.0), "origin/main", "x")
    assert headline(failing.candidate, failing, None) == (
        "p95 21 ms vs 20 ms on origin/main (1.05x), 870 vs 890 req/s (0.98x), errors 1.20% vs 0%")
    assert headline(stats(2.1, 8700.0), None, "git ref 'origin/main' does not exist") == (
        "p95 2.1 ms, 8,700 req/s; not compared with a baseline: git ref 'origin/main' does not exist")


def test_regression_checks_fail_past_their_limit_and_warn_when_asked() -> None:
    comparison = Comparison(stats(3.0, 800.0), stats(2.0, 1000.0), "main", "main (abc1234)")
    limits = {"p95_ms": Threshold(expr="<= 1.2"), "rps": Threshold(expr=">= 0.9", severity="warn"),
              "p99_ms": Threshold(expr="<= 2")}
    found = {c.name: c for c in regression_checks(CheckFactory("load"), comparison, limits)}
    assert list(found) == ["regression.p95_ms", "regression.p99_ms", "regression.rps"]
    assert found["regression.p95_ms"].status == "fail"
    assert found["regression.p95_ms"].message == (
        "p95 latency 3.0 ms against 2.0 ms on main, a ratio of 1.5 x, configured to fail when "
        "above 1.2 x")
    assert found["regression.p99_ms"].status == "pass"
    assert found["regression.rps"].status == "warn"
    assert found["regression.rps"].message == (
        "throughput 800 requests/s against 1,000 requests/s on main, a ratio of 0.8 x, configured "
        "to warn when below 0.9 x")


def test_past_its_limit_on_the_same_model_a_regression_warns_as_noise() -> None:
    comparison = Comparison(stats(3.0, 800.0), stats(2.0, 1000.0), "main", "main (abc1234)")
    limits = {"p95_ms": Threshold(expr="<= 1.2"), "rps": Threshold(expr=">= 0.9", severity="warn"),
              "p99_ms": Threshold(expr="<= 2")}
    found = {c.name: c for c in regression_checks(CheckFactory("load"), comparison, limits,
                                                  same_model=True)}
    assert [found[name].status for name in found] == ["warn", "pass", "warn"]
    assert found["regression.p95_ms"].message == (
        "p95 latency 3.0 ms against 2.0 ms on main, a ratio of 1.5 x, configured to fail when "
        "above 1.2 x; not failed: the baseline's model is byte for byte this one, so this is the "
        "run's noise")
    assert found["regression.rps"].message.endswith("configured to warn when below 0.9 x")


def test_the_baseline_check_names_its_commit_and_every_ratio() -> None:
    comparison = Comparison(stats(2.1, 8700.0), stats(2.0, 8900.0), "main", "main (abc1234)")
    assert baseline_message(comparison, 4, 5.0, same_model=True) == (
        "this change vs the baseline at main (abc1234), 4 alternating rounds of 5 s per model: "
        "p50 1.0 vs 1.0 ms (1.00x), p95 2.1 vs 2.0 ms (1.05x), p99 2.1 vs 2.0 ms (1.05x), error "
        "rate 0% vs 0%, 8,700 vs 8,900 requests/s (0.98x); the baseline's model is byte for byte "
        "this one, so the ratios show this run's noise")


def test_the_chart_holds_both_distributions_and_both_curves() -> None:
    comparison = Comparison(stats(2.1, 8700.0), stats(2.0, 8900.0), "main", "main (abc1234)")
    drawn = chart(comparison, {"p95": 50.0})
    assert drawn["kind"] == "comparison"
    assert drawn["names"] == ["this change", "baseline main (abc1234)"]
    latency = drawn["latency_ms"]
    assert isinstance(latency, list) and [row[-1] for row in latency] == [2.1, 2.0]  # p99.9
    assert drawn["throughput"] == [[8700.0] * 4, [8900.0] * 4]
    assert drawn["slo"] == {"p95": 50.0}
