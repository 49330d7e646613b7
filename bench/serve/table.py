"""`python -m bench.serve.table`: the serving bench's last results (bench/results/results.json)
as the per-workload tables the README and bench/serve/NOTES.md quote."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict

from bench.common import ROOT

LEVELS = ("c=1", "c=8", "c=32", "c=128", "locust u=8")
_POINT = re.compile(r"^([\w-]+): (.+) (c=\d+|locust u=\d+) (throughput|p50|p99|CPU)$")


def tables(results: list[dict[str, object]]) -> str:
    """One table per workload: a row per server, per level `req/s (p50 / p99 ms) CPU s/1k`."""
    points: dict[str, dict[str, dict[str, dict[str, float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict)))
    for result in results:
        match = _POINT.match(str(result["name"]))
        if match and result["bench"] == "serve":
            workload, server, level, stat = match.groups()
            points[workload][server][level][stat] = float(str(result["value"]))
    lines = []
    for workload, servers in points.items():
        lines += [f"**{workload}** (req/s, p50 / p99 ms, server CPU s per 1,000 requests)", "",
                  "| server | " + " | ".join(LEVELS) + " |",
                  "|---|" + "---:|" * len(LEVELS)]
        for server, levels in servers.items():
            cells = [f"{p['throughput']:,.0f} ({p['p50']:.3g} / {p['p99']:.3g}) {p['CPU']:.2f}"
                     if (p := levels.get(level)) else "" for level in LEVELS]
            lines.append(f"| {server} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    data = json.loads((ROOT / "bench" / "results" / "results.json").read_text())
    print(tables(data["results"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
