"""Load gate: the real server under the generated locustfile, its stats against the SLOs and
against the baseline model loaded in the same run.

The baseline is the model committed at `model.baseline.ref` (read from git, as the benchmark gate
reads it), served by the same server with the same spec; Locust loads it and the candidate in
alternating rounds (`harness.load.measure`), so the ratios hold on a noisy machine. A first
release, or a baseline that cannot be served, is measured alone and says why it was not compared.

The servers (subprocesses, or the built image with `--target container`) and every Locust process
are started on 127.0.0.1 with free ports and are always stopped afterwards — on success, on
failure, on Ctrl-C and on SIGTERM. Run outputs (Locust's HTML reports, JSON and CSV stats, the
server logs) are kept in `load/` of the report folder (`GateOptions.report_dir`, `--report-dir`),
beside the reports, for CI to upload; the reports link them by relative paths.
`GateOptions.serve_command` replaces `mlops serve` (see `harness.load.server.start_process`).
"""

from __future__ import annotations

import math
from pathlib import Path

from mlops.core.catalogue import LOAD_STATISTICS
from mlops.core.repository import repository_root
from mlops.harness.baseline import BaselineUnavailable, read_baseline
from mlops.harness.gate import GateOptions
from mlops.harness.reports.paths import report_relative, repository_path, scrub
from mlops.harness.result import (
    HEADLINE,
    CheckFactory,
    CheckResult,
    GateResult,
    histogram_chart,
    percentiles_chart,
    series_chart,
)
from mlops.spec.loader import LoadedSpec
from mlops.spec.threshold import format_number

from . import compare
from .locust import LoadStats, LocustFailed
from .measure import BaselineModel, Measurement, measure
from .server import ServerFailed

GATE_NAME = "load"
HISTOGRAM_BINS = 20
CHECK = CheckFactory(GATE_NAME)
KEY_STATISTICS = frozenset({"p95_ms", "rps"})
"""The SLO checks an overview shows first."""


class LoadGate:
    name = GATE_NAME

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        spec = loaded.spec
        relative = Path(spec.compile.output) / "load" / "locustfile.py"
        locustfile = loaded.resolve(str(relative)).resolve()  # Locust runs from the run folder
        if not locustfile.is_file():
            return CHECK.only("locustfile", "error", (
                f"generated locustfile {relative.as_posix()} not found; run "
                f"`mlops compile {loaded.path.name}` to generate it"))  # fmt: skip
        if options.target == "container" and not options.image:
            return CHECK.only("server", "error", "--target container needs --image")
        artifact = loaded.resolve(spec.model.artifact)
        if options.target == "process" and not artifact.is_file():
            return CHECK.only("server", "error", (
                f"model artifact {spec.model.artifact} not found; run model.train first"))  # fmt: skip
        report_dir = (options.report_dir or loaded.root / "reports").resolve()
        run_dir = report_dir / "load"
        run_dir.mkdir(parents=True, exist_ok=True)
        baseline = self._baseline(loaded)
        try:
            measured = measure(loaded, options, locustfile, run_dir,
                               baseline if isinstance(baseline, BaselineModel) else None)
        except ServerFailed as failure:
            return CHECK.only("server", "error", scrub(str(failure), loaded.root))
        except LocustFailed as failure:
            return CHECK.only("locust", "error", scrub(str(failure), loaded.root))
        comparison, missing = None, measured.not_compared
        if isinstance(baseline, str):
            missing = baseline
        elif measured.baseline is not None and measured.baseline.requests == 0:
            missing = f"the baseline at {baseline.where} completed no requests"
        elif measured.baseline is not None:
            comparison = compare.Comparison(measured.candidate, measured.baseline, baseline.ref,
                                            baseline.where)  # fmt: skip
        same_model = (isinstance(baseline, BaselineModel) and artifact.is_file()
                      and artifact.read_bytes() == baseline.model)  # fmt: skip
        checks = self._checks(loaded, measured, comparison, missing, same_model,
                              self._shown(loaded, run_dir))  # fmt: skip
        answered = measured.candidate.requests > 0
        return GateResult(
            gate=GATE_NAME, checks=checks, charts=self._charts(loaded, measured.candidate, comparison),
            summary=compare.headline(measured.candidate, comparison, missing) if answered else None,
            summary_chart="comparison" if comparison is not None else None,
            attachments=_attachments(measured, report_dir),
        )  # fmt: skip

    def _baseline(self, loaded: LoadedSpec) -> BaselineModel | str:
        """The baseline model to load beside the candidate, or why there is none."""
        spec = loaded.spec
        if spec.model.baseline is None:
            return "no model.baseline is configured"
        ref = spec.model.baseline.ref
        try:
            found = read_baseline(loaded.root, ref, spec.model.artifact)
        except BaselineUnavailable as reason:
            return scrub(str(reason), loaded.root)
        if found.model is None:
            return "; ".join(found.missing)
        return BaselineModel(found.model, ref, found.where)

    def _shown(self, loaded: LoadedSpec, run_dir: Path) -> str:
        """Where the Locust outputs are, as a reader of the report finds them."""
        shown = repository_path(run_dir, repository_root(loaded.root))
        return f"{shown}/" if shown is not None else "load/ beside this report"

    def _checks(self, loaded: LoadedSpec, measured: Measurement,
                comparison: compare.Comparison | None, missing: str | None, same_model: bool,
                shown: str) -> list[CheckResult]:  # fmt: skip
        load = loaded.spec.load
        stats = measured.candidate
        mode = f"master + {load.workers} worker(s)" if load.workers else "one local runner"
        if comparison is None:
            how = f"{load.users} users for {format_number(load.duration)} s ({mode})"
        else:
            base = comparison.baseline
            how = (f"baseline: {base.requests} requests, {base.failures} failed; {load.users} "
                   f"users, {measured.plan.rounds} round(s) of {format_number(measured.plan.round_s)} "
                   f"s per model ({mode})")
        summary = f"{stats.requests} requests, {stats.failures} failed, {how}; Locust reports in {shown}"
        if stats.requests == 0:
            return [CHECK("requests", "error", "the load test completed no requests; " + summary)]
        checks = [CHECK("requests", "pass", summary)]
        observed = stats.observed()
        baseline = comparison.baseline.observed() if comparison is not None else {}
        slos = load.thresholds.thresholds()
        for statistic in LOAD_STATISTICS:
            threshold, label = slos.get(statistic.name), statistic.label
            if threshold is None:
                continue
            if statistic.name == "error_rate" and stats.errors:
                cause, count = stats.errors[0]
                label = f"error rate ({stats.failures} of {stats.requests} failed; most: {count}× {cause})"
            details: dict[str, object] = {"locust_exit_code": stats.exit_code}
            if statistic.name in KEY_STATISTICS:
                details[HEADLINE] = True
            checks.append(CHECK.compare(statistic.name, label, observed[statistic.name], threshold,
                                        unit=statistic.unit, baseline=baseline.get(statistic.name),
                                        details=details))  # fmt: skip
        if comparison is None:
            checks.append(CHECK("baseline", "skip", f"not compared with a baseline: {missing}"))
            return checks
        message = compare.baseline_message(comparison, measured.plan.rounds, measured.plan.round_s,
                                           same_model)  # fmt: skip
        ratios = {statistic.name: comparison.ratio(statistic.name) for statistic in LOAD_STATISTICS}
        checks.append(CHECK("baseline", "pass", message, details={
            "ref": comparison.ref, "where": comparison.where, "rounds": measured.plan.rounds,
            "round_s": measured.plan.round_s, "candidate": observed, "baseline": baseline,
            "ratios": ratios, "same_model": same_model}))  # fmt: skip
        checks += compare.regression_checks(CHECK, comparison, load.max_regression.limits(),
                                            same_model)
        return checks

    def _charts(self, loaded: LoadedSpec, stats: LoadStats,
                comparison: compare.Comparison | None) -> dict[str, dict[str, object]]:
        slo = {name.removesuffix("_ms"): threshold.comparison.value
               for name, threshold in loaded.spec.load.thresholds.thresholds().items()
               if name.endswith("_ms")}
        charts: dict[str, dict[str, object]] = {}
        if comparison is not None:
            charts["comparison"] = compare.chart(comparison, slo)
        else:
            values = {name.removesuffix("_ms"): value for name, value in stats.percentiles.items()}
            charts["latency_percentiles"] = percentiles_chart(
                "Load-test latency percentiles", {**values, "max": stats.max_ms}, slo=slo)
            charts["throughput_over_time"] = series_chart(
                "Throughput over time", stats.seconds,
                {"requests/s": stats.requests_per_s, "failures/s": stats.failures_per_s},
                y_label="requests/s")  # fmt: skip
        if stats.history["seconds"]:
            charts["latency_over_time"] = series_chart(
                "Latency over time (ms)", stats.history["seconds"],
                {k: stats.history[k] for k in ("p50_ms", "p95_ms")},
            )  # fmt: skip
        if stats.timings or stats.histogram:
            charts["latency_histogram"] = _histogram(stats.timings or stats.histogram)
        return charts


def _attachments(measured: Measurement, report_dir: Path) -> dict[str, str]:
    """Each run's Locust HTML report and each server's log, relative to the report's folder."""
    files: dict[str, str] = {}
    for role, runs in measured.runs.items():
        name = "this change" if role == "candidate" else "baseline"
        for number, folder in enumerate(runs, start=1):
            if (folder / "report.html").is_file():
                files[f"Locust report, {name}, run {number}"] = report_relative(
                    folder / "report.html", report_dir)
        logs = {folder.parent / "server.log" for folder in runs}
        for log in sorted(path for path in logs if path.is_file()):
            files[f"server log, {name}"] = report_relative(log, report_dir)
    return files


def _histogram(buckets: dict[float, int]) -> dict[str, object]:
    """Response times regrouped into HISTOGRAM_BINS bins of a round width (0.1, 0.2, 0.5, 1 ms...)."""
    top = max(buckets)
    width = _round_width(top / HISTOGRAM_BINS)
    counts = [0] * HISTOGRAM_BINS
    for value, count in buckets.items():
        counts[min(int(value / width), HISTOGRAM_BINS - 1)] += count
    edges = [round(index * width, 6) for index in range(HISTOGRAM_BINS + 1)]
    return histogram_chart("Load-test latency distribution", edges, counts)


def _round_width(least: float) -> float:
    """The smallest of 1, 2 and 5 times a power of ten that is above `least`."""
    power = 10.0 ** math.floor(math.log10(least)) if least > 0 else 0.1
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power > least:
            return step * power
    return 10 * power


GATE = LoadGate()
