"""Load gate against its baseline: how far noise moves the ratios of an unchanged model, and how
far a slower model moves them, at the default `load.max_regression` limits.

One run: a copy of the example in its own git repository whose `main` holds the same model, the
repository's own load settings (16 users, 15 s, 4 alternating rounds per model), `mlops gate load`
run REPEAT_SAME times on the unchanged model, then REPEAT_SLOWER times on a bigger model (the
same inputs and outputs, dense layers added). Reported per case: the median, lowest and highest
ratio of p95 and of requests/s, how many runs the default limits failed and how many met the
absolute p95 SLO. The claim checked
(for the note, never asserted here): an unchanged model passes every run, the bigger one fails
every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT, Measurement, median
from mlops.spec.models import DEFAULT_MAX_REGRESSION
from tests.harness.model_helpers import commit_all, project, slow_model
from tests.specs import edit_spec

NAME = "load_compare"
REPEAT_SAME = int(os.environ.get("BENCH_LOAD_REPEAT", "10"))
REPEAT_SLOWER = 3
SLOWER_LAYERS = 30
"""Dense 1024x1024 layers added: a few milliseconds more per request, still far under the SLO."""


def _repository(folder: Path) -> Path:
    """The example with the root spec's load settings, compiled, committed on main."""
    load = yaml.safe_load((ROOT / "mlops.yaml").read_text())["load"]
    spec = project(folder)
    edit_spec(spec, {"load": load, "model.baseline.ref": "main"})
    subprocess.run([sys.executable, "-m", "mlops", "compile", str(spec)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    commit_all(folder)
    return spec


def _gate(spec: Path, out: Path) -> dict[str, Any]:
    """One `mlops gate load` run: its checks by name."""
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "mlops", "gate", "load", str(spec), "--report-dir",
                    str(out)], cwd=spec.parent, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    report = json.loads((out / "report-load.json").read_text())
    return {check["name"]: check for check in report["gates"][0]["checks"]}


def _case(spec: Path, label: str, repeat: int, out: Path) -> list[Measurement]:
    ratios: dict[str, list[float]] = {"p95_ms": [], "rps": []}
    failed = slo_met = 0
    for _ in range(repeat):
        checks = _gate(spec, out)
        for name, values in ratios.items():
            values.append(checks["baseline"]["details"]["ratios"][name])
        failed += any(check["status"] == "fail" for name, check in checks.items()
                      if name.startswith("regression."))
        slo_met += checks["p95_ms"]["status"] == "pass"
    results = []
    for name, values in ratios.items():
        limit = DEFAULT_MAX_REGRESSION[name]
        results.append(Measurement(
            NAME, f"{label}: {name} ratio (candidate / baseline), median of {repeat}",
            median(values), "x", target=f"default limit {'<=' if name != 'rps' else '>='} {limit}",
            notes=f"lowest {min(values):.3f}, highest {max(values):.3f}; regression checks failed "
                  f"in {failed} of {repeat} runs; the p95 SLO met in {slo_met}",
            extra={"runs": values, "failed_runs": failed, "slo_met_runs": slo_met}))  # fmt: skip
    return results


def run() -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="bench-load-compare-") as temp:
        folder = Path(temp) / "repo"
        spec = _repository(folder)
        out = Path(temp) / "reports"
        results = _case(spec, "unchanged model", REPEAT_SAME, out)
        slow_model(folder, layers=SLOWER_LAYERS)
        results += _case(spec, f"model with {SLOWER_LAYERS} dense layers more", REPEAT_SLOWER, out)
    return results
