"""What the server's own duties cost on many-row requests, and what binary v2 bodies save.

`mlops serve` as the container runs it logs one access line per request and a sampled request log
(the example specs sample 10%); BentoML's documented setup does neither and the others log less.
This runs each 64-row workload under the same wrk load with those duties on and off, with JSON
and with v2 binary tensors, so the cost of each is a measured difference, not a guess:

    python -m bench.serve.features forest-64 churn-64 [--rounds 2] [--seconds 8]

Per variant: req/s and server CPU s per 1,000 requests at 32 connections, served rows/s as a share
of in-process onnxruntime rows/s (one thread, the same 64-row batches), and req/s, p50 and p99 at
one connection. Rounds alternate the order of the variants.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.bench_serve import in_process
from bench.serve import servers
from bench.serve.cpu import cpu_seconds, load_average
from bench.serve.load import wrk
from bench.serve.workloads import Workload, workloads, write_json


@dataclass(frozen=True)
class Variant:
    label: str
    access_log: bool
    request_log: bool
    binary: bool


VARIANTS = (Variant("json, both logs (as deployed)", True, True, False),
            Variant("json, no access log", False, True, False),
            Variant("json, no request log", True, False, False),
            Variant("json, no logs", False, False, False),
            Variant("binary, both logs", True, True, True),
            Variant("binary, no logs", False, False, True))


def _spec_without_request_log(spec: Path) -> Path:
    """The workload's spec beside it (its relative paths still resolve) minus serving.request_log."""
    copy = spec.with_name(f".bench-no-request-log-{spec.name}")
    text, removed = re.subn(r"\n  request_log: [^\n]*\n", "\n", spec.read_text())
    if removed != 1:
        raise SystemExit(f"{spec}: expected one one-line serving.request_log to remove")
    copy.write_text(text)
    return copy


def measure(workload: Workload, variant: Variant, spec: Path, seconds: int,
            workdir: Path) -> tuple[float, float, float, float, float]:
    """(req/s and CPU s per 1,000 requests at c=32; req/s, p50, p99 at c=1) of one server start."""
    url = f"/v2/models/{workload.served_name}/infer"
    if variant.binary:
        data, header = workload.v2_binary_body()
        body = workdir / f"{workload.name}.bin"
        body.write_bytes(data)
        headers = {"Content-Type": "application/octet-stream",
                   "Inference-Header-Content-Length": str(header)}
    else:
        body, headers = write_json(workdir / f"{workload.name}.json", workload.v2_body()), {}
    flags = () if variant.access_log else ("--no-access-log",)
    with servers.mlops_serve(spec, workload.model, servers.free_port(), workdir / "server.log",
                             *flags) as server:
        warm = wrk(server.url + url, body, 8, 1, headers)
        if warm.errors:
            raise SystemExit(f"{workload.name} {variant.label}: {warm.errors} failed requests")
        before = cpu_seconds(server.pid)
        busy = wrk(server.url + url, body, 32, seconds, headers)
        used = cpu_seconds(server.pid) - before
        single = wrk(server.url + url, body, 1, seconds, headers)
    return busy.rps, 1000 * used / max(busy.requests, 1), single.rps, single.p50_ms, single.p99_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-features-") as folder:
        for workload in workloads(args.workloads):
            floor = in_process(workload, workload.rows)
            print(f"{workload.name}: in-process onnxruntime {floor:,.0f} rows/s", flush=True)
            bare = _spec_without_request_log(workload.spec)
            try:
                for round_ in range(args.rounds):
                    order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
                    for variant in order:
                        spec = workload.spec if variant.request_log else bare
                        rps, cpu, single, p50, p99 = measure(workload, variant, spec,
                                                             args.seconds, Path(folder))
                        print(f"{workload.name} {variant.label:32s} c=32 {rps:6,.0f} req/s "
                              f"{cpu:5.2f} CPU s/1k ({100 * rps * workload.rows / floor:4.1f}% "
                              f"of in-process) | c=1 {single:6,.0f} req/s p50 {p50:.2f} "
                              f"p99 {p99:.2f} ms | load {os.getloadavg()[0]:.2f}", flush=True)
            finally:
                bare.unlink()
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
