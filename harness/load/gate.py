"""Load gate: the real server under the generated locustfile, its stats against the SLOs.

The server (a subprocess, or the built image with `--target container`) and every Locust
process are started on 127.0.0.1 with free ports and are always stopped afterwards — on success,
on failure, on Ctrl-C and on SIGTERM. Run outputs (Locust's HTML report, JSON and CSV stats, the
server log) are kept in `load/` of the report folder (`GateOptions.report_dir`, `--report-dir`),
beside the reports, for CI to upload. `GateOptions.serve_command` replaces `mlops serve` (see
`harness.load.server.start_process`).
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from pathlib import Path

from mlops.core.catalogue import LOAD_STATISTICS
from mlops.harness.gate import GateOptions
from mlops.harness.load.locust import LoadRun, LoadStats, LocustFailed, run_locust
from mlops.harness.load.processes import ProcessGroup, terminate_as_interrupt
from mlops.harness.load.server import ServerFailed, container, start_process
from mlops.harness.result import (
    CheckFactory,
    CheckResult,
    GateResult,
    histogram_chart,
    percentiles_chart,
    series_chart,
)
from mlops.spec.loader import LoadedSpec
from mlops.spec.threshold import format_number

GATE_NAME = "load"
HISTOGRAM_BINS = 20
CHECK = CheckFactory(GATE_NAME)


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
        if options.target == "process" and not loaded.resolve(spec.model.artifact).is_file():
            return CHECK.only("server", "error", (
                f"model artifact {spec.model.artifact} not found; run model.train first"))  # fmt: skip
        run_dir = ((options.report_dir or loaded.root / "reports") / "load").resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            stats = self._measure(loaded, options, locustfile, run_dir)
        except ServerFailed as failure:
            return CHECK.only("server", "error", str(failure))
        except LocustFailed as failure:
            return CHECK.only("locust", "error", str(failure))
        return GateResult(gate=GATE_NAME, checks=self._checks(loaded, stats, run_dir),
                          charts=self._charts(loaded, stats))  # fmt: skip

    def _measure(
        self, loaded: LoadedSpec, options: GateOptions, locustfile: Path, run_dir: Path
    ) -> LoadStats:
        load = loaded.spec.load
        with terminate_as_interrupt(), ExitStack() as stack:
            group = stack.enter_context(ProcessGroup())
            if options.target == "container":
                assert options.image is not None
                url = stack.enter_context(container(options.image, run_dir))
            else:
                url = start_process(loaded, group, run_dir, options.serve_command)
            run = LoadRun(locustfile, url, load.users, load.spawn_rate, load.duration,
                          load.workers, run_dir)  # fmt: skip
            return run_locust(run, group)

    def _checks(self, loaded: LoadedSpec, stats: LoadStats, run_dir: Path) -> list[CheckResult]:
        load = loaded.spec.load
        mode = f"master + {load.workers} worker(s)" if load.workers else "one local runner"
        summary = (f"{stats.requests} requests, {stats.failures} failed, {load.users} users for "
                   f"{format_number(load.duration)} s ({mode}); Locust report in {run_dir}")  # fmt: skip
        if stats.requests == 0:
            return [CHECK("requests", "error", "the load test completed no requests; " + summary)]
        checks = [CHECK("requests", "pass", summary)]
        observed = stats.observed()
        slos = load.thresholds.thresholds()
        for statistic in LOAD_STATISTICS:
            threshold, label = slos.get(statistic.name), statistic.label
            if threshold is None:
                continue
            if statistic.name == "error_rate" and stats.errors:
                cause, count = stats.errors[0]
                label = f"error rate ({stats.failures} of {stats.requests} failed; most: {count}× {cause})"
            checks.append(CHECK.compare(statistic.name, label, observed[statistic.name], threshold,
                                        unit=statistic.unit,
                                        details={"locust_exit_code": stats.exit_code}))
        return checks

    def _charts(self, loaded: LoadedSpec, stats: LoadStats) -> dict[str, dict[str, object]]:
        slo = {name.removesuffix("_ms"): threshold.comparison.value
               for name, threshold in loaded.spec.load.thresholds.thresholds().items()
               if name.endswith("_ms")}
        values = {name.removesuffix("_ms"): value for name, value in stats.percentiles.items()}
        charts = {
            "latency_percentiles": percentiles_chart(
                "Load-test latency percentiles", {**values, "max": stats.max_ms}, slo=slo
            ),
            "throughput_over_time": series_chart(
                "Throughput over time", stats.seconds,
                {"requests/s": stats.requests_per_s, "failures/s": stats.failures_per_s},
                y_label="requests/s",
            ),
        }  # fmt: skip
        if stats.history["seconds"]:
            charts["latency_over_time"] = series_chart(
                "Latency over time (ms)", stats.history["seconds"],
                {k: stats.history[k] for k in ("p50_ms", "p95_ms")},
            )  # fmt: skip
        if stats.histogram:
            charts["latency_histogram"] = _histogram(stats.histogram)
        return charts


def _histogram(buckets: dict[float, int]) -> dict[str, object]:
    """Locust's rounded-millisecond buckets regrouped into equal-width bins."""
    width = float(max(1, math.ceil((max(buckets) + 1.0) / HISTOGRAM_BINS)))  # whole milliseconds
    counts = [0] * HISTOGRAM_BINS
    for value, count in buckets.items():
        counts[min(int(value / width), HISTOGRAM_BINS - 1)] += count
    edges = [index * width for index in range(HISTOGRAM_BINS + 1)]
    return histogram_chart("Load-test latency distribution", edges, counts)


GATE = LoadGate()
