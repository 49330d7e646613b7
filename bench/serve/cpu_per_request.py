"""CPU seconds per 1,000 requests of `mlops serve` under one fixed wrk load, for comparing code.

On a shared machine req/s moves with whatever else runs; the server's own CPU per request moves
much less, so this is the figure to compare two versions of the request path by. Each `--tree`
is a source folder laid out like the repository (e.g. `git archive <commit> mlops cli core spec
compiler harness serving | tar -x -C DIR`) put first on the server's PYTHONPATH; `here` is the
installed tree. Rounds alternate the trees so drift in the machine's load hits both alike.
`--profile DIR` also samples each server with py-spy (its `raw` collapsed stacks, one file per
tree, workload and round) while wrk runs.

    python -m bench.serve.cpu_per_request churn-64 forest-64 --tree before=/tmp/old --tree here
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.serve import servers
from bench.serve.cpu import cpu_seconds, load_average
from bench.serve.load import wrk
from bench.serve.workloads import Workload, workloads, write_json


def _tree(text: str) -> tuple[str, str | None]:
    label, _, folder = text.partition("=")
    return (label, None) if label == "here" and not folder else (label, folder)


def measure(workload: Workload, folder: str | None, connections: int, seconds: int,
            workdir: Path, profile: Path | None) -> tuple[float, float, int]:
    """(CPU s per 1,000 requests, req/s, requests) of one server start under one wrk run."""
    body = write_json(workdir / f"{workload.name}-v2.json", workload.v2_body())
    env = {"PYTHONPATH": folder} if folder else None
    url_path = f"/v2/models/{workload.served_name}/infer"
    with servers.mlops_serve(workload.spec, workload.model, servers.free_port(),
                             workdir / "server.log", env=env) as server:
        wrk(server.url + url_path, body, connections, 2)  # warm-up
        spy = None
        if profile is not None:
            spy = subprocess.Popen([_py_spy(), "record", "-p", str(server.pid), "-d",
                                    str(max(seconds - 1, 1)), "-r", "100", "-f", "raw",
                                    "-o", str(profile)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = cpu_seconds(server.pid)
        result = wrk(server.url + url_path, body, connections, seconds)
        used = cpu_seconds(server.pid) - before
        if spy is not None:
            spy.wait(30)
    return 1000 * used / max(result.requests, 1), result.rps, result.requests


def _py_spy() -> str:
    found = shutil.which("py-spy") or os.environ.get("PY_SPY")
    if not found:
        raise SystemExit("--profile needs py-spy on PATH (or PY_SPY=/path/to/py-spy)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--tree", action="append", type=_tree, default=[],
                        help="LABEL=FOLDER, or 'here' for the installed tree (repeatable)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", type=Path, help="folder for py-spy raw stacks")
    args = parser.parse_args()
    trees = args.tree or [("here", None)]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as folder:
        for workload in workloads(args.workloads):
            for round_ in range(args.rounds):
                for label, tree in trees:
                    out = (args.profile / f"{label}-{workload.name}-{round_}.txt"
                           if args.profile else None)
                    cpu, rps, requests = measure(workload, tree, args.connections, args.seconds,
                                                 Path(folder), out)
                    print(f"{workload.name} c={args.connections} round {round_} {label}: "
                          f"{cpu:.3f} CPU s/1k req, {rps:,.0f} req/s ({requests} requests), "
                          f"load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
