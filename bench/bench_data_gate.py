"""The data gate vs Great Expectations and pandera (schema + quality), and its drift check vs
Evidently's data-drift preset, on the same generated 1,000,000-row x 30-column CSV files.

Each tool runs in its own process (peers in their own venvs under .mlops/bench-venvs/, since their
pins conflict with ours) under GNU time, which gives wall time and peak resident memory. The
files are generated once under .mlops/bench-data/ and read once before timing so every tool
starts from a warm page cache. Ratios are peer time / our time (higher is better for us).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from bench.common import ROOT, VENV_BIN, Measurement
from bench.data_gate_peers.rules import (
    FEATURES,
    HIGH,
    LOW,
    MAX_DUPLICATE_FRACTION,
    MIN_CLASS_FRACTION,
    MIN_ROWS,
    PSI_THRESHOLD,
    TARGET,
)

NAME = "data_gate"
ROWS = 1_000_000
DATA = ROOT / ".mlops" / "bench-data"
VENVS = ROOT / ".mlops" / "bench-venvs"
PEERS = ROOT / "bench" / "data_gate_peers"
PACKAGES = {
    "great-expectations": ["great-expectations==1.24.1", "pyarrow"],
    "pandera": ["pandera[pandas]==0.35.0"],
    "evidently": ["evidently==0.7.23", "pandas<3"],  # 0.7.23 imports a helper pandas 3 removed
}
SHIFTED = {"f00": "mean +1 sd", "f01": "sd x2", "f02": "mean +0.8 sd", "f03": "log-normal shape",
           "f04": "mean +1.5 sd"}


def _columns(rng: np.random.Generator, shifted: bool) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(FEATURES):
        kind = index % 3
        if kind == 0:
            values = rng.normal(10.0, 2.0, ROWS)
        elif kind == 1:
            values = rng.lognormal(1.0, 0.5, ROWS)
        else:
            values = rng.uniform(0.0, 100.0, ROWS)
        columns[name] = np.round(values, 6)
    if shifted:
        columns["f00"] = columns["f00"] + 2.0
        columns["f01"] = np.round(np.exp(1.0 + (np.log(columns["f01"]) - 1.0) * 2), 6)
        columns["f02"] = columns["f02"] + 0.8 * 100 / np.sqrt(12)
        columns["f03"] = np.round(rng.lognormal(1.0, 1.2, ROWS), 6)
        columns["f04"] = columns["f04"] + 3.0
    columns[TARGET] = (rng.random(ROWS) < 0.4).astype(np.int64)
    return columns


def generate() -> tuple[Path, Path]:
    """reference.csv and current.csv (five features shifted), written once."""
    DATA.mkdir(parents=True, exist_ok=True)
    files = (DATA / "reference.csv", DATA / "current.csv")
    for path, seed, shifted in ((files[0], 1, False), (files[1], 2, True)):
        if not path.is_file():
            table = pa.table(_columns(np.random.default_rng(seed), shifted))
            partial = path.with_suffix(".tmp")
            pcsv.write_csv(table, partial)
            partial.rename(path)
    return files


def ensure_venvs() -> dict[str, Path]:
    pythons = {}
    for name, packages in PACKAGES.items():
        python = VENVS / name / "bin" / "python"
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
        pythons[name] = python
    return pythons


def _spec(drift: bool) -> Path:
    """A spec beside the data (spec paths are relative to the spec's folder)."""
    schema = "\n".join(f"    {name}: {{dtype: float, min: {LOW:g}, max: {HIGH:g}}}"
                       for name in FEATURES)
    current = "  current: current.csv\n" if drift else ""
    text = (
        f"version: 1\nname: bench-{'drift' if drift else 'schema'}\ndata:\n"
        f"  train: reference.csv\n  test: reference.csv\n{current}"
        f"  target: {TARGET}\n  schema:\n{schema}\n    {TARGET}: {{dtype: int, allowed: [0, 1]}}\n"
        f"  checks: {{min_rows: {MIN_ROWS}, max_null_fraction: 0.0, max_duplicate_fraction: "
        f"{MAX_DUPLICATE_FRACTION}, min_class_fraction: {MIN_CLASS_FRACTION}}}\n"
        f"  drift: {{method: psi, threshold: {PSI_THRESHOLD}, max_drifted_features: 0.5}}\n"
        "model: {task: binary_classification, artifact: model.onnx}\n"
        "deploy: {image: ghcr.io/acme/bench, environments: [{name: dev, namespace: dev}]}\n")
    path = DATA / f"{'drift' if drift else 'schema'}.yaml"
    path.write_text(text)
    return path


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one run under GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        done = subprocess.run(["/usr/bin/time", "-f", "%M %e", "-o", stats.name, *command],
                              cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, "CI": "true"})
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}")
        kib, seconds = stats.read().split()[-2:]
    return float(seconds), int(kib) / 1024, done.stdout


def _ours(spec: Path, folder: Path) -> tuple[float, float, dict[str, Any]]:
    out = folder / spec.stem
    seconds, mib, _ = timed([str(VENV_BIN / "python"), "-m", "mlops", "gate", "data", str(spec),
                             "--report-dir", str(out)], folder)
    return seconds, mib, json.loads((out / "report.json").read_text())


def run() -> list[Measurement]:
    reference, current = generate()
    pythons = ensure_venvs()
    for path in (reference, current):  # warm the page cache for everyone
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass
    size = f"{ROWS:,} rows x {len(FEATURES) + 1} columns, {reference.stat().st_size / 2**20:.0f} MiB CSV"
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        ours_s, ours_mib, report = _ours(_spec(drift=False), folder)
        gate = report["gates"][0]
        results.append(Measurement(NAME, "mlops data gate: schema + quality", ours_s, "s",
                                   notes=f"{size}; verdict {gate['status']}, in-gate "
                                         f"{gate['duration_s']:.2f} s, peak {ours_mib:.0f} MiB",
                                   extra={"peak_mib": ours_mib}))
        for peer, script, target in (("great-expectations", "great_expectations_check.py", ">= 10x"),
                                     ("pandera", "pandera_check.py", ">= 2x")):
            seconds, mib, out = timed([str(pythons[peer]), str(PEERS / script), str(reference)],
                                      PEERS)
            verdict = json.loads(out.splitlines()[-1])
            results.append(Measurement(
                NAME, f"{peer}: schema + quality", seconds, "s",
                reference="mlops data gate", ratio=seconds / ours_s, target=target,
                notes=f"ok={verdict['ok']}, in-process {verdict['seconds']:.2f} s, peak "
                      f"{mib:.0f} MiB ({mib / ours_mib:.1f}x ours)",
                extra={"peak_mib": mib}))
        drift_s, drift_mib, drift_report = _ours(_spec(drift=True), folder)
        checks = drift_report["gates"][0]["checks"]
        ours_drifted = sorted(c["name"].removeprefix("drift.") for c in checks
                              if c["name"].startswith("drift.f") and c["status"] == "fail")
        results.append(Measurement(
            NAME, "mlops data gate: drift (plus schema + quality of both files)", drift_s, "s",
            notes=f"drifted {ours_drifted}; planted {sorted(SHIFTED)}; peak {drift_mib:.0f} MiB",
            extra={"peak_mib": drift_mib, "drifted": ours_drifted}))
        seconds, mib, out = timed([str(pythons["evidently"]), str(PEERS / "evidently_drift.py"),
                                   str(reference), str(current)], PEERS)
        verdict = json.loads(out.splitlines()[-1])
        same = verdict["drifted"] == ours_drifted
        ours_scores = {c["name"].removeprefix("drift."): c["observed"] for c in checks
                       if c["name"].startswith("drift.f")}
        differ = "; ".join(
            f"{f}: ours {ours_scores[f]:.3g}, evidently {verdict['scores'][f]:.3g}"
            for f in sorted(set(verdict["drifted"]) ^ set(ours_drifted)))
        results.append(Measurement(
            NAME, "evidently DataDriftPreset (psi): drift", seconds, "s",
            reference="mlops data gate: drift", ratio=seconds / drift_s, target=">= 10x",
            notes=f"same verdicts: {same} (evidently drifted {verdict['drifted']}"
                  f"{'; PSI ' + differ if differ else ''}); in-process "
                  f"{verdict['seconds']:.2f} s, peak {mib:.0f} MiB ({mib / drift_mib:.1f}x ours)",
            extra={"peak_mib": mib, "drifted": verdict["drifted"], "scores": verdict["scores"]}))
    return results
