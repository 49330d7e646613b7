"""mlops and its peers against the floor of their HTTP stack, side by side, rounds alternating.

A full `python -m bench serve` measures each server once per point, minutes apart; on a shared
machine one server's good minute is another's bad one, and a ratio near 1.5x comes out above or
below it run to run. This starts the servers in turn for every round (the floor of
bench/serve/floor_app.py, `mlops serve` as the bench runs it, then each peer), loads each with
wrk at every connection count, and prints each server's medians over the rounds and the ratios of
those medians: how far mlops is from the peers, and how far the floor itself is. Where the floor
is under a target, no amount of work on mlops' own request path reaches it on this stack.

    python -m bench.serve.floor forest-64 churn-64 [--connections 1 8] [--rounds 3] [--seconds 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench.bench_serve import Point, point
from bench.serve import servers
from bench.serve.cpu import load_average
from bench.serve.load import wrk
from bench.serve.servers import Server, free_port
from bench.serve.workloads import Workload, workloads, write_json

Start = Callable[[], AbstractContextManager[Server]]
Rounds = list[dict[int, Point]]
"""One server's rounds: each a {connections: point}."""


def starters(workload: Workload, peers: list[str], workdir: Path) -> dict[str, Start]:
    """{label: server starter}: the floor, mlops, then the peers asked for."""
    name, model, log = workload.served_name, workload.model, workdir / "servers.log"
    peer_starts: dict[str, Start] = {
        "mlserver": lambda: servers.mlserver(model, name, free_port(), workdir, log),
        "kserve": lambda: servers.kserve(model, name, free_port(), workdir, log),
    }
    unknown = sorted(set(peers) - set(peer_starts))
    if unknown:
        raise SystemExit(f"unknown peer(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(peer_starts)}")
    return {
        "floor": lambda: servers.floor(model, name, free_port(), log),
        "mlops": lambda: servers.mlops_serve(workload.spec, model, free_port(), log),
        **{peer: peer_starts[peer] for peer in peers},
    }


def measure(start: Start, url_path: str, body: Path, levels: list[int],
            seconds: int) -> dict[int, Point]:
    """One server start: a warm-up, then one wrk run per connection count."""
    with start() as server:
        wrk(server.url + url_path, body, 8, 2)
        return {connections: point(server, url_path, body, connections, seconds)
                for connections in levels}


def summary(workload: str, runs: dict[str, Rounds], levels: list[int]) -> str:
    """Per connection count: each server's median req/s, p99 and CPU, then the ratios."""
    lines = []
    for level in levels:
        rps = {label: statistics.median(r[level].load.rps for r in rounds)
               for label, rounds in runs.items()}
        each = "; ".join(
            f"{label} {rps[label]:,.0f} req/s "
            f"(p99 {statistics.median(r[level].load.p99_ms for r in rounds):.3g} ms, "
            f"{statistics.median(r[level].cpu_per_1000 for r in rounds):.2f} CPU s/1k; rounds "
            f"{', '.join(f'{r[level].load.rps:,.0f}' for r in rounds)})"
            for label, rounds in runs.items())
        peers = [label for label in rps if label not in ("floor", "mlops")]
        ratios = ", ".join(f"{label} / {peer} {rps[label] / rps[peer]:.2f}x"
                           for peer in peers for label in ("mlops", "floor"))
        lines.append(f"{workload} c={level}: {each}\n  medians: {ratios}; mlops / floor "
                     f"{rps['mlops'] / rps['floor']:.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=["forest-64", "churn-64"])
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--peers", default="mlserver", help="comma list: mlserver, kserve")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    args = parser.parse_args()
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as folder:
        workdir = Path(folder)
        for workload in workloads(args.workloads):
            body = write_json(workdir / f"{workload.name}-v2.json", workload.v2_body())
            url_path = f"/v2/models/{workload.served_name}/infer"
            starts = starters(workload, args.peers.split(","), workdir)
            runs: dict[str, Rounds] = {label: [] for label in starts}
            for round_ in range(args.rounds):
                for label, start in starts.items():
                    runs[label].append(measure(start, url_path, body, args.connections,
                                               args.seconds))
                print(f"{workload.name} round {round_ + 1} done, load average "
                      f"{load_average()}", flush=True)
            print(summary(workload.name, runs, args.connections), flush=True)
    print(f"load average after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
