"""Gate results built by hand for the report tests: a load gate compared with its baseline, as
the load gate writes it (summary, comparison chart, Locust reports attached)."""

from __future__ import annotations

from mlops.harness.result import (
    HEADLINE,
    CheckResult,
    GateResult,
    Report,
    bars_chart,
    comparison_chart,
    histogram_chart,
)

SUMMARY = "p95 2.1 ms vs 2.0 ms on main (1.05x), 8,700 vs 8,900 req/s (0.98x)"


def load_comparison_gate() -> GateResult:
    checks = [
        CheckResult(gate="load", name="requests", status="pass",
                    message="52000 requests, 0 failed; Locust reports in reports/load/"),
        CheckResult(gate="load", name="p95_ms", status="pass", observed=2.1, unit="ms",
                    threshold="< 50", baseline=2.0, details={HEADLINE: True},
                    message="p95 latency 2.1 ms, configured to fail when at or above 50 ms"),
        CheckResult(gate="load", name="rps", status="pass", observed=8700.0, unit="requests/s",
                    threshold="> 100", baseline=8900.0, details={HEADLINE: True},
                    message="throughput 8700 requests/s, configured to fail when at or below 100 "
                            "requests/s"),
        CheckResult(gate="load", name="regression.p95_ms", status="pass", observed=1.05, unit="x",
                    threshold="<= 1.5", details={HEADLINE: True},
                    message="p95 latency 2.1 ms against 2.0 ms on main, a ratio of 1.05 x, "
                            "configured to fail when above 1.5 x"),
    ]  # fmt: skip
    charts = {
        "comparison": comparison_chart(
            "This change against the baseline, loaded in the same run",
            ["this change", "baseline main (abc1234)"], ["p50", "p95", "p99"],
            [[1.2, 2.1, 3.0], [1.1, 2.0, 2.9]], [[8600.0, 8800.0, 8700.0], [8900.0, 8950.0, 8850.0]],
            slo={"p95": 50.0}),
        "latency_histogram": histogram_chart("Load-test latency distribution", [0, 1, 2, 3],
                                             [10, 80, 10]),
    }  # fmt: skip
    return GateResult(gate="load", duration_s=31.0, checks=checks, charts=charts, summary=SUMMARY,
                      summary_chart="comparison",
                      attachments={"Locust report, this change, run 1":
                                   "load/candidate/run-1/report.html"})  # fmt: skip


def release_report() -> Report:
    """A data gate that failed, a model gate that passed, and the compared load gate."""
    data = GateResult(gate="data", duration_s=0.4, checks=[
        CheckResult(gate="data", name="drift", status="fail", observed=0.4, threshold="<= 0.3",
                    message="2 of 5 features drifted (0.4), configured to fail when above 0.3",
                    details={HEADLINE: True}),
        CheckResult(gate="data", name="train.rows", status="pass", observed=455,
                    threshold=">= 100", message="455 rows, configured to fail when below 100"),
    ], charts={"drift": bars_chart("Drift per feature (PSI)", {"mean_radius": 0.031, "x": 0.4},
                                   threshold=0.25)})  # fmt: skip
    model = GateResult(gate="model", duration_s=1.0, checks=[
        CheckResult(gate="model", name="f1", status="pass", observed=0.95, threshold=">= 0.93",
                    baseline=0.96, message="F1 0.95, configured to fail when below 0.93"),
    ])  # fmt: skip
    return Report(spec_name="breast-cancer", spec_path="mlops.yaml", commit="0123456789abcdef0",
                  duration_s=32.4, gates=[data, model, load_comparison_gate()])
