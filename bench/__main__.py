"""`python -m bench [NAME ...]`: run benches, write bench/results/results.{md,json}.

Each `bench/bench_<name>.py` exposes `run() -> list[Measurement]`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys

from bench.common import ROOT, Measurement, machine_info


def available() -> list[str]:
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(ROOT / "bench")])
                  if m.name.startswith("bench_"))


def to_markdown(results: list[Measurement], info: dict[str, object]) -> str:
    lines = [f"# Benchmarks ({info['time']})", "",
             f"Machine: {info['platform']}, {info['cpus']} CPUs, Python {info['python']}, "
             f"load average {info['load_average']}", "",
             "| bench | measurement | value | unit | vs | ratio | target | notes |",
             "|---|---|---:|---|---|---:|---|---|"]
    for m in results:
        ratio = f"{m.ratio:.2f}" if m.ratio is not None else ""
        lines.append(f"| {m.bench} | {m.name} | {m.value:.4g} | {m.unit} | {m.reference or ''} | "
                     f"{ratio} | {m.target or ''} | {m.notes} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benches to run (default: all of {available()})")
    args = parser.parse_args()
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)}; available: {', '.join(available())}")
    results: list[Measurement] = []
    for name in names:
        print(f"running bench {name} ...", file=sys.stderr)
        results.extend(importlib.import_module(f"bench.bench_{name}").run())
    info = machine_info()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(results, info)
    (out / "results.md").write_text(markdown)
    (out / "results.json").write_text(json.dumps(
        {"machine": info, "results": [m.as_dict() for m in results]}, indent=2) + "\n")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
