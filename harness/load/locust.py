"""Run the generated locustfile headless (local, or a master and N workers on 127.0.0.1) and read
back what it measured.

Totals come from `--json-file`, which Locust writes once at the very end (the `_stats.csv`
snapshot can lag the last second). Percentiles come from the locustfile's own response times
(`MLOPS_LOAD_TIMINGS`, three significant digits; Locust's histogram rounds to whole milliseconds,
which cannot tell 2.1 ms from 2.4 ms), computed exactly as Locust computes them, so they agree with
the locustfile's SLO hook; without that file, from Locust's histogram. Per-second throughput comes
from the JSON file, latency over time from `--csv-full-history`'s `_stats_history.csv`.
Several runs of one server (the load gate's rounds) add up with `merge`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.spec.threshold import format_number

from .processes import ProcessGroup, free_port, tail

_WRAPPED = re.compile(r"^\w+\(['\"](.*)['\"]\)$", re.DOTALL)
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}
FINISH_MARGIN_S = 120.0
WORKERS_WAIT_S = 60


class LocustFailed(Exception):
    """Locust did not produce results; the message says why."""


@dataclass(frozen=True)
class LoadRun:
    locustfile: Path
    url: str
    users: int
    spawn_rate: float
    duration_s: float
    workers: int
    out_dir: Path
    rows: Path | None = None
    """A local file of the rows to post, when data.test is not one (MLOPS_LOAD_DATA)."""


@dataclass
class LoadStats:
    requests: int
    failures: int
    rps: float
    percentiles: dict[str, float]
    max_ms: float
    histogram: dict[float, int]
    seconds: list[float] = field(default_factory=list)
    requests_per_s: list[float] = field(default_factory=list)
    failures_per_s: list[float] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    errors: list[tuple[str, int]] = field(default_factory=list)
    exit_code: int = 0
    timings: dict[float, int] = field(default_factory=dict)
    """Response time (ms, three significant digits) -> count; `histogram` is Locust's rounding."""
    elapsed_s: float = 0.0
    """From the first request's start to the last request's end."""

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else float("nan")

    def observed(self) -> dict[str, float]:
        """The values the SLOs name."""
        return {**self.percentiles, "error_rate": self.error_rate, "rps": self.rps}


def commands(run: LoadRun, master_port: int) -> list[list[str]]:
    """The Locust command lines: the runner (local or master) first, then any workers."""
    base = [sys.executable, "-m", "locust", "-f", str(run.locustfile)]
    runner = [
        *base, "--headless", "-H", run.url, "-u", str(run.users),
        "-r", format_number(run.spawn_rate), "-t", f"{math.ceil(run.duration_s)}s",
        "--csv", str(run.out_dir / "locust"), "--csv-full-history",
        "--json-file", str(run.out_dir / "stats"), "--html", str(run.out_dir / "report.html"),
        "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "2",
    ]  # fmt: skip
    if not run.workers:
        return [runner]
    runner += [
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
        "--expect-workers", str(run.workers), "--expect-workers-max-wait", str(WORKERS_WAIT_S),
    ]  # fmt: skip
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port),
              "--loglevel", "WARNING"]  # fmt: skip
    return [runner] + [worker] * run.workers


def run_locust(run: LoadRun, group: ProcessGroup) -> LoadStats:
    """Run Locust to completion (bounded by the duration plus a margin) and parse its stats."""
    for stale in run.out_dir.glob("locust_*.csv"):
        stale.unlink()
    (run.out_dir / "stats.json").unlink(missing_ok=True)
    timings_file = run.out_dir / "timings.json"
    timings_file.unlink(missing_ok=True)
    # Locust reads ./locust.conf and ./pyproject.toml: run it where neither can surprise it.
    cwd = run.out_dir
    env = {**os.environ, "MLOPS_LOAD_TIMINGS": str(timings_file),
           **({"MLOPS_LOAD_DATA": str(run.rows)} if run.rows is not None else {})}
    lines = commands(run, free_port())
    runner_log = run.out_dir / "locust.log"
    runner = group.start(lines[0], log=runner_log, cwd=cwd, env=env)
    for index, line in enumerate(lines[1:]):
        group.start(line, log=run.out_dir / f"locust-worker-{index}.log", cwd=cwd, env=env)
    limit = run.duration_s + FINISH_MARGIN_S + (WORKERS_WAIT_S if run.workers else 0)
    try:
        code = runner.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        raise LocustFailed(f"Locust did not finish within {limit:g} s") from None
    stats_file = run.out_dir / "stats.json"
    if not stats_file.is_file():
        raise LocustFailed(f"Locust exited with code {code} and wrote no stats:\n{tail(runner_log)}")
    stats = parse(stats_file, run.out_dir / "locust_stats_history.csv", timings_file)
    stats.exit_code = code
    stats.errors = _failures(run.out_dir / "locust_failures.csv")
    return stats


def parse(stats_file: Path, history_file: Path, timings_file: Path | None = None) -> LoadStats:
    entries: list[dict[str, Any]] = json.loads(stats_file.read_text(encoding="utf-8"))
    histogram: Counter[float] = Counter()
    per_second: Counter[int] = Counter()
    fails_per_second: Counter[int] = Counter()
    requests = failures = 0
    start, end, max_ms = math.inf, -math.inf, 0.0
    for entry in entries:
        requests += int(entry["num_requests"])
        failures += int(entry["num_failures"])
        histogram.update({float(k): int(v) for k, v in entry["response_times"].items()})
        per_second.update({int(k): int(v) for k, v in entry["num_reqs_per_sec"].items()})
        fails_per_second.update({int(k): int(v) for k, v in entry["num_fail_per_sec"].items()})
        if entry["num_requests"]:
            start = min(start, float(entry["start_time"]))
            end = max(end, float(entry["last_request_timestamp"]))
        max_ms = max(max_ms, float(entry["max_response_time"] or 0.0))
    elapsed = end - start if requests else 0.0
    timings = _timings(timings_file)
    stats = LoadStats(
        requests=requests, failures=failures,
        rps=requests / elapsed if elapsed > 0 else float("nan"),
        percentiles=percentiles(timings or histogram), max_ms=max_ms,
        histogram=dict(sorted(histogram.items())), timings=timings, elapsed_s=elapsed,
    )  # fmt: skip
    if per_second:
        first, last = min(per_second), max(per_second)
        stats.seconds = [float(t - first) for t in range(first, last + 1)]
        stats.requests_per_s = [float(per_second[t]) for t in range(first, last + 1)]
        stats.failures_per_s = [float(fails_per_second[t]) for t in range(first, last + 1)]
    stats.history = _history(history_file)
    return stats


def merge(runs: Sequence[LoadStats]) -> LoadStats:
    """Several runs against one server as one: counts and histograms add up, throughput is all
    requests over all elapsed time, and the time series follow one another (each run's first and
    last second, partial, left out of requests/s, so run boundaries do not read as dips)."""
    if len(runs) == 1:
        return runs[0]
    histogram: Counter[float] = Counter()
    timings: Counter[float] = Counter()
    errors: Counter[str] = Counter()
    for run in runs:
        histogram.update(run.histogram)
        timings.update(run.timings)
        errors.update(dict(run.errors))
    requests = sum(run.requests for run in runs)
    elapsed = sum(run.elapsed_s for run in runs)
    merged = LoadStats(
        requests=requests, failures=sum(run.failures for run in runs),
        rps=requests / elapsed if elapsed > 0 else float("nan"),
        percentiles=percentiles(dict(timings) or dict(histogram)),
        max_ms=max(run.max_ms for run in runs), histogram=dict(sorted(histogram.items())),
        errors=errors.most_common(), exit_code=max(run.exit_code for run in runs),
        timings=dict(sorted(timings.items())), elapsed_s=elapsed,
        history={"seconds": [], "p50_ms": [], "p95_ms": []},
    )  # fmt: skip
    offset = history_offset = 0.0
    for run in runs:
        whole = slice(1, -1) if len(run.seconds) > 2 else slice(None)
        kept = len(run.seconds[whole])
        merged.seconds += [offset + second for second in range(kept)]
        merged.requests_per_s += run.requests_per_s[whole]
        merged.failures_per_s += run.failures_per_s[whole]
        offset += kept
        if run.history.get("seconds"):
            for key in ("p50_ms", "p95_ms"):
                merged.history[key] += run.history[key]
            merged.history["seconds"] += [history_offset + s for s in run.history["seconds"]]
            history_offset += run.history["seconds"][-1] + 1
    return merged


def percentiles(histogram: dict[float, int]) -> dict[str, float]:
    """p50, p95 and p99 of a {ms: count} histogram."""
    return {name: percentile(histogram, q) for name, q in PERCENTILES.items()}


def percentile(histogram: dict[float, int], fraction: float) -> float:
    """Locust's percentile of a {rounded ms: count} histogram (`calculate_response_time_percentile`)."""
    total = sum(histogram.values())
    if not total:
        return float("nan")
    wanted = int(total * fraction)
    seen = 0
    for value in sorted(histogram, reverse=True):
        seen += histogram[value]
        if total - seen <= wanted:
            return value
    return 0.0


def _timings(path: Path | None) -> dict[float, int]:
    """The locustfile's response times, or {} when it wrote none (an older locustfile)."""
    if path is None or not path.is_file():
        return {}
    document: dict[str, dict[str, int]] = json.loads(path.read_text(encoding="utf-8"))
    return {float(ms): int(count)
            for ms, count in sorted(document.get("response_times_ms", {}).items(),
                                    key=lambda item: float(item[0]))}


def _history(path: Path) -> dict[str, list[float]]:
    """Aggregated rows of the history CSV: seconds, p50 and p95 over time."""
    result: dict[str, list[float]] = {"seconds": [], "p50_ms": [], "p95_ms": []}
    if not path.is_file():
        return result
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    # Until Locust has a window of requests, its current percentiles read N/A or 0.
    rows = [row for row in rows if row["50%"] not in ("N/A", "") and float(row["Requests/s"]) > 0]
    if not rows:
        return result
    first = int(rows[0]["Timestamp"])
    for row in rows:
        result["seconds"].append(float(int(row["Timestamp"]) - first))
        result["p50_ms"].append(float(row["50%"]))
        result["p95_ms"].append(float(row["95%"]))
    return result


def _failures(path: Path) -> list[tuple[str, int]]:
    """(error, occurrences), most frequent first."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        found = [(_unwrap(row["Error"]), int(row["Occurrences"])) for row in csv.DictReader(handle)]
    return sorted(found, key=lambda item: -item[1])


def _unwrap(error: str) -> str:
    """`CatchResponseError('HTTP 500: ...')` -> `HTTP 500: ...`: the locustfile's own words."""
    match = _WRAPPED.match(error)
    return match.group(1) if match else error
