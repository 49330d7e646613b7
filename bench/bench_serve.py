"""Serving: `mlops serve` against MLServer, BentoML and KServe's Python server, and against
in-process onnxruntime, for the workloads of bench/serve/workloads.py, in one run.

Every server answers the same request (one row, or 64 in forest-64 and churn-64) on 127.0.0.1:
wrk (one thread, the other core serves) at 1, 8, 32 and 128 connections, then one Locust run as a
second opinion. Per point: req/s, p50/p99 and the server's CPU seconds per 1,000 requests (its
whole process tree, from /proc). For the model-dominated workloads, in-process onnxruntime rows/s
for the same batch composition (one row, and the 32-row batches micro-batching forms at most, or
the request's 64 rows) and served rows/s at c=32 over it. For the example, the HTTP-stack
variants: today's stack (uvicorn, one process) against uvicorn with two workers and granian with
one and two. Targets (for the note, never asserted here): >= 1.5x each peer's req/s at every
concurrency with a p99 no worse; served rows/s at c=32 >= 80% of in-process rows/s.

BENCH_SERVE_SECONDS (default 6), BENCH_SERVE_WORKLOADS (comma list) and BENCH_SERVE_SERVERS
(comma list of labels' first words, e.g. "mlops,kserve") shorten development runs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import Measurement
from bench.serve import servers
from bench.serve.cpu import cpu_seconds, load_average
from bench.serve.load import LoadResult, locust, wrk
from bench.serve.onnx_feeds import feeds, open_session
from bench.serve.servers import Server, free_port
from bench.serve.workloads import Workload, workloads, write_json

BENCH = "serve"
CONCURRENCY = (1, 8, 32, 128)
LOCUST_USERS = 8
BATCH = 32
"""serving.max_batch_size: the largest batch the server forms from one-row requests."""
MODEL_DOMINATED = ("forest", "churn", "forest-64", "churn-64")
TODAY = "mlops v2"


@dataclass(frozen=True)
class Point:
    load: LoadResult
    cpu_per_1000: float


@dataclass(frozen=True)
class Plan:
    label: str
    start: Callable[[], AbstractContextManager[Server]]
    path: str
    body: Path


def _seconds() -> int:
    return int(os.environ.get("BENCH_SERVE_SECONDS", "6"))


def in_process(workload: Workload, rows: int, windows: int = 5,
               seconds: float = 0.5) -> float:
    """Rows/s of session.run on `rows` copies of the request row, one thread, in this process:
    the best of several short windows, since other work on the machine only slows a window down
    (one 2 s window once came out 23% under the same model's figure minutes later)."""
    session = open_session(str(workload.model))
    tensors = {name: np.array(value, dtype=object) for name, value in workload.tensors(rows).items()}
    data = feeds(session, tensors)
    for _ in range(20):
        session.run(["probabilities"], data)
    best = 0.0
    for _ in range(windows):
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            session.run(["probabilities"], data)
            runs += 1
        best = max(best, runs * rows / (time.perf_counter() - start))
    return best


def point(server: Server, path: str, body: Path, connections: int, seconds: int) -> Point:
    """One wrk run at `connections` and the server's CPU over it."""
    before = cpu_seconds(server.pid)
    result = wrk(server.url + path, body, connections, seconds)
    used = cpu_seconds(server.pid) - before
    return Point(result, 1000 * used / max(result.requests, 1))


def _sweep(plan: Plan, workdir: Path) -> Iterator[tuple[int | str, Point]]:
    with plan.start() as server:
        wrk(server.url + plan.path, plan.body, 8, 1)  # warm-up
        for connections in CONCURRENCY:
            yield connections, point(server, plan.path, plan.body, connections, _seconds())
        before = cpu_seconds(server.pid)
        result = locust(server.url, plan.path, plan.body, LOCUST_USERS, max(_seconds(), 5),
                        workdir)
        used = cpu_seconds(server.pid) - before
        yield "locust", Point(result, 1000 * used / max(result.requests, 1))


def _plans(workload: Workload, workdir: Path) -> list[Plan]:
    name = workload.served_name
    v2 = write_json(workdir / f"{workload.name}-v2.json", workload.v2_body())
    bento_path, bento_body = workload.bentoml_request()
    bento = write_json(workdir / f"{workload.name}-bentoml.json", bento_body)
    log = workdir / f"{workload.name}-servers.log"
    infer = f"/v2/models/{name}/infer"
    plans = [
        Plan(TODAY, lambda: servers.mlops_serve(workload.spec, workload.model, free_port(), log),
             infer, v2),
        Plan("mlserver 1.7.1", lambda: servers.mlserver(workload.model, name, free_port(),
                                                        workdir, log), infer, v2),
        Plan("bentoml 1.4.40", lambda: servers.bentoml(workload.model, name, free_port(),
                                                       workdir, log), bento_path, bento),
        Plan("kserve 0.21.0", lambda: servers.kserve(workload.model, name, free_port(),
                                                     workdir, log), infer, v2),
    ]
    if workload.name == "example":
        predict = write_json(workdir / "example-predict.json", workload.predict_body())
        plans.insert(1, Plan("mlops /predict", lambda: servers.mlops_serve(
            workload.spec, workload.model, free_port(), log), "/predict", predict))
        plans += _stack_variants(workload, workdir, infer, v2, log)
    wanted = os.environ.get("BENCH_SERVE_SERVERS")
    if wanted:
        plans = [p for p in plans if p.label.split()[0] in wanted.split(",")]
    return plans


def _stack_variants(workload: Workload, workdir: Path, infer: str, v2: Path,
                    log: Path) -> list[Plan]:
    """The same app, access log and metrics on, under other process models and servers."""
    from mlops.serving.config import ServerConfig
    from mlops.spec.loader import load_spec

    config = ServerConfig.from_spec(load_spec(workload.spec, check_files=False)).with_overrides(
        model=workload.model, workers=2).to_json()
    return [
        Plan("stack uvicorn workers=2", lambda: servers.mlops_serve(
            workload.spec, workload.model, free_port(), log, "--workers", "2"), infer, v2),
        Plan("stack granian workers=1", lambda: servers.granian(config, free_port(), 1, log),
             infer, v2),
        Plan("stack granian workers=2", lambda: servers.granian(config, free_port(), 2, log),
             infer, v2),
    ]


def run() -> list[Measurement]:
    selected = os.environ.get("BENCH_SERVE_WORKLOADS")
    out = [Measurement(BENCH, "load average before (1, 5, 15 min)", os.getloadavg()[0], "",
                       notes=load_average())]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        workdir = Path(folder)
        for workload in workloads(selected.split(",") if selected else None):
            print(f"serve bench: workload {workload.name}", file=sys.stderr)
            runs: dict[tuple[str, int | str], Point] = {}
            for plan in _plans(workload, workdir):
                print(f"  {plan.label}", file=sys.stderr)
                try:
                    for level, point in _sweep(plan, workdir):
                        runs[(plan.label, level)] = point
                except RuntimeError as error:  # one server failing must not lose the rest
                    out.append(Measurement(BENCH, f"{workload.name}: {plan.label} failed", 0, "",
                                           notes=f"{error}; see its log in the run's folder"))
            out += measurements(workload.name, runs)
            if workload.name in MODEL_DOMINATED:
                out += _model_bound(workload, runs)
    out.append(Measurement(BENCH, "load average after (1, 5, 15 min)", os.getloadavg()[0], "",
                           notes=load_average()))
    return out


def measurements(workload: str, runs: dict[tuple[str, int | str], Point]) -> list[Measurement]:
    """Every point, then mlops v2 against each peer and each stack variant against today's."""
    out = []
    for (label, level), point in runs.items():
        tool = "locust" if level == "locust" else "wrk"
        where = f"locust u={LOCUST_USERS}" if level == "locust" else f"c={level}"
        notes = f"{tool}; {point.load.errors} errors; {point.load.requests} requests"
        name = f"{workload}: {label} {where}"
        out += [Measurement(BENCH, f"{name} throughput", point.load.rps, "req/s", notes=notes),
                Measurement(BENCH, f"{name} p50", point.load.p50_ms, "ms", notes=notes),
                Measurement(BENCH, f"{name} p99", point.load.p99_ms, "ms", notes=notes),
                Measurement(BENCH, f"{name} CPU", point.cpu_per_1000, "CPU s/1k req",
                            notes="server process tree, /proc")]
    for (label, level), point in runs.items():
        if label.startswith("mlops") or (TODAY, level) not in runs:
            continue  # mlops' other endpoint is a row of its own, not a peer
        ours = runs[(TODAY, level)].load
        where = f"locust u={LOCUST_USERS}" if level == "locust" else f"c={level}"
        variant = label.startswith("stack")
        name = (f"{workload}: {label} / {TODAY} {where}" if variant
                else f"{workload}: {TODAY} / {label} {where}")
        rps = point.load.rps / ours.rps if variant else ours.rps / max(point.load.rps, 1e-9)
        p99 = point.load.p99_ms / ours.p99_ms if variant else ours.p99_ms / point.load.p99_ms
        out += [Measurement(BENCH, f"{name} req/s ratio", rps, "x",
                            target=None if variant else ">= 1.5"),
                Measurement(BENCH, f"{name} p99 ratio", p99, "x",
                            target=None if variant else "<= 1")]
    return out


def _model_bound(workload: Workload, runs: dict[tuple[str, int | str], Point]
                 ) -> list[Measurement]:
    """Served rows/s at c=32 over in-process rows/s for the same batch composition: the
    request's rows when a request carries many, else the batches micro-batching forms at most."""
    composition = workload.rows if workload.rows > 1 else BATCH
    single, batched = in_process(workload, 1), in_process(workload, composition)
    why = ("the rows of one request" if workload.rows > 1
           else "the batches micro-batching forms at most")
    out = [Measurement(BENCH, f"{workload.name}: onnxruntime in-process, 1-row runs", single,
                       "rows/s", notes="one thread, same session options as the servers"),
           Measurement(BENCH, f"{workload.name}: onnxruntime in-process, {composition}-row runs",
                       batched, "rows/s", notes=why)]
    for label in (TODAY, *(f"{p}" for p in ("mlserver 1.7.1", "bentoml 1.4.40",
                                            "kserve 0.21.0"))):
        point = runs.get((label, 32))
        if point is not None:
            served = point.load.rps * workload.rows
            out.append(Measurement(BENCH, f"{workload.name}: {label} c=32 rows/s over in-process",
                                   served / batched, "x",
                                   f"onnxruntime in-process, {composition}-row runs",
                                   served / batched,
                                   ">= 0.8" if label == TODAY else None,
                                   f"{served:.0f} served rows/s; 1-row in-process "
                                   f"{single:.0f} rows/s"))
    return out
