"""Where the slow requests at one connection come from: the server's own time, request by request.

wrk gives the client's percentiles only. The access log's `duration_ms` is the server's time for
each request, in arrival order, with its request id. This serves each workload with `mlops serve`
as the bench runs it (access log on, the spec's request log), loads it with wrk at one
connection, and prints the server's percentiles for the requests the request log sampled and
for the others, and how many requests apart the slow ones are: one spacing over and over points
at work done every N requests (a window of metrics added up, a buffer flushed).

    python -m bench.serve.tail forest-64 churn-64 [--seconds 10] [--slow-ms 2]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import orjson

from bench.serve import servers
from bench.serve.cpu import load_average
from bench.serve.load import wrk
from bench.serve.workloads import Workload, workloads, write_json


@dataclass(frozen=True)
class Served:
    request_id: str
    ms: float


def served(log: bytes) -> list[Served]:
    """The access lines of a server's log, in order (other lines are skipped)."""
    found = []
    for line in log.splitlines():
        if b'"access"' not in line:
            continue
        record = orjson.loads(line)
        if record.get("event") == "access":
            found.append(Served(record["request_id"], float(record["duration_ms"])))
    return found


def percentiles(values: Sequence[float]) -> str:
    """p50 / p90 / p99 / p99.9 / max of some durations, nearest rank, in ms."""
    if not values:
        return "none"
    ordered = sorted(values)
    ranks = [ordered[int(share * (len(ordered) - 1))] for share in (0.5, 0.9, 0.99, 0.999)]
    return (f"n={len(ordered)} p50 {ranks[0]:.3f} p90 {ranks[1]:.3f} p99 {ranks[2]:.3f} "
            f"p99.9 {ranks[3]:.3f} max {ordered[-1]:.3f} ms")


def spacings(requests: Sequence[Served], slow_ms: float) -> Counter[int]:
    """How many requests apart consecutive slow requests are, counted."""
    slow = [index for index, request in enumerate(requests) if request.ms > slow_ms]
    return Counter(later - earlier for earlier, later in pairwise(slow))


def report(workload: Workload, requests: Sequence[Served], rate: float, slow_ms: float) -> str:
    from mlops.serving.request_log import sampled

    logged = [r.ms for r in requests if sampled(r.request_id, rate)]
    others = [r.ms for r in requests if not sampled(r.request_id, rate)]
    common = ", ".join(f"{gap} x{count}" for gap, count in spacings(requests, slow_ms).most_common(5))
    return (f"{workload.name} server-side, all: {percentiles([r.ms for r in requests])}\n"
            f"  sampled by the request log ({rate:.0%}): {percentiles(logged)}\n"
            f"  not sampled: {percentiles(others)}\n"
            f"  requests over {slow_ms} ms: {sum(r.ms > slow_ms for r in requests)}; "
            f"most common spacing between them: {common or 'none'}")


def sample_rate(spec: Path) -> float:
    from mlops.spec.loader import load_spec

    log = load_spec(spec, check_files=False).spec.serving.request_log
    return log.sample_rate if log is not None else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--slow-ms", type=float, default=2.0)
    args = parser.parse_args()
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-tail-") as folder:
        workdir = Path(folder)
        for workload in workloads(args.workloads):
            body = write_json(workdir / f"{workload.name}.json", workload.v2_body())
            url = f"/v2/models/{workload.served_name}/infer"
            log = workdir / f"{workload.name}.log"
            with servers.mlops_serve(workload.spec, workload.model, servers.free_port(),
                                     log) as server:
                wrk(server.url + url, body, 8, 1)  # warm-up
                start = log.stat().st_size
                client = wrk(server.url + url, body, 1, args.seconds)
            with log.open("rb") as handle:
                handle.seek(start)
                requests = served(handle.read())
            print(f"{workload.name} wrk c=1: {client.rps:,.0f} req/s, p50 {client.p50_ms:.2f} "
                  f"p99 {client.p99_ms:.2f} ms", flush=True)
            print(report(workload, requests, sample_rate(workload.spec), args.slow_ms),
                  flush=True)
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
