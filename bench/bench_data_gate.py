"""The data gate vs Great Expectations and pandera (schema + quality), and its drift check vs
Evidently's data-drift preset, on the same generated 1,000,000-row x 30-column files, once as CSV
and once as Parquet (same columns and values).

Each tool runs in its own process (peers in their own venvs under .mlops/bench-venvs/, since their
pins conflict with ours) under GNU time, which gives wall time, user + system CPU time and peak
resident memory. Every command runs REPEAT times (env BENCH_REPEAT, default 3), interleaved with
the tools it is compared with (ours, peer, peer, ours, ...) so a noisy machine hits all alike; a
row reports the median wall time, the median CPU time and the largest peak. The files are
generated once under .mlops/bench-data/ and read once before timing so every tool starts from a
warm page cache. Ratios are median peer time / median our time (higher is better for us).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from bench.common import ROOT, VENV_BIN, Measurement, median
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
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
FORMATS = ("csv", "parquet")
DATA = ROOT / ".mlops" / "bench-data"
VENVS = ROOT / ".mlops" / "bench-venvs"
PEERS = ROOT / "bench" / "data_gate_peers"
PACKAGES = {
    "great-expectations": ["great-expectations==1.24.1", "pyarrow"],
    "pandera": ["pandera[pandas]==0.35.0", "pyarrow"],
    "evidently": ["evidently==0.7.23", "pandas<3", "pyarrow"],  # 0.7.23 imports a helper pandas 3 removed
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


def generate() -> dict[str, tuple[Path, Path]]:
    """(reference, current) per format (current has five features shifted), written once."""
    DATA.mkdir(parents=True, exist_ok=True)
    files = {fmt: (DATA / f"reference.{fmt}", DATA / f"current.{fmt}") for fmt in FORMATS}
    for index, seed, shifted in ((0, 1, False), (1, 2, True)):
        missing = [files[fmt][index] for fmt in FORMATS if not files[fmt][index].is_file()]
        if missing:
            table = pa.table(_columns(np.random.default_rng(seed), shifted))
            for path in missing:
                partial = path.with_suffix(".tmp")
                (pcsv.write_csv if path.suffix == ".csv" else pq.write_table)(table, partial)
                partial.rename(path)
    return files


def ensure_venvs() -> dict[str, Path]:
    """A venv per peer with its PACKAGES, installed again whenever that list changes."""
    pythons = {}
    for name, packages in PACKAGES.items():
        python = VENVS / name / "bin" / "python"
        marker = VENVS / name / "bench-packages.txt"
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True)
        if not marker.is_file() or marker.read_text().splitlines() != packages:
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
            marker.write_text("\n".join(packages) + "\n")
        pythons[name] = python
    return pythons


def _spec(drift: bool, fmt: str) -> Path:
    """A spec beside the data (spec paths are relative to the spec's folder)."""
    kind = "drift" if drift else "schema"
    schema = "\n".join(f"    {name}: {{dtype: float, min: {LOW:g}, max: {HIGH:g}}}"
                       for name in FEATURES)
    current = f"  current: current.{fmt}\n" if drift else ""
    text = (
        f"version: 1\nname: bench-{kind}-{fmt}\ndata:\n  format: {fmt}\n"
        f"  train: reference.{fmt}\n  test: reference.{fmt}\n{current}"
        f"  target: {TARGET}\n  schema:\n{schema}\n    {TARGET}: {{dtype: int, allowed: [0, 1]}}\n"
        f"  checks: {{min_rows: {MIN_ROWS}, max_null_fraction: 0.0, max_duplicate_fraction: "
        f"{MAX_DUPLICATE_FRACTION}, min_class_fraction: {MIN_CLASS_FRACTION}}}\n"
        f"  drift: {{method: psi, threshold: {PSI_THRESHOLD}, max_drifted_features: 0.5}}\n"
        "model: {task: binary_classification, artifact: model.onnx}\n"
        "deploy: {image: ghcr.io/acme/bench, environments: [{name: dev, namespace: dev}]}\n")
    path = DATA / f"{kind}-{fmt}.yaml"
    path.write_text(text)
    return path


@dataclass
class Run:
    """One process under GNU time, and what it reported: a peer's JSON line, or our gate's entry
    in report.json with its duration_s copied to "seconds" like the peers'."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    out: dict[str, Any]


PACKAGES_OF_OURS = ["spec", "compiler", "harness", "serving", "mlops"]
_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "CI": "true"}
"""Every tool runs as installed software does, from cached bytecode: pip compiled the peers' at
install time, `run` compiles ours once (a machine that sets PYTHONDONTWRITEBYTECODE would make
only our gate recompile its modules on every run)."""


@dataclass
class Tool:
    """One command and its runs; `report` is the folder our gate writes report.json to (peers
    print their verdict instead)."""

    command: list[str]
    cwd: Path
    report: Path | None = None
    runs: list[Run] = field(default_factory=list)

    def once(self) -> None:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
            done = subprocess.run(["/usr/bin/time", "-f", "%M %e %U %S", "-o", stats.name,
                                   *self.command], cwd=self.cwd, capture_output=True, text=True,
                                  env=_ENV)
            if done.returncode not in (0, 1):
                raise RuntimeError(f"{self.command[:3]} exited {done.returncode}: "
                                   f"{done.stderr[-2000:]}")
            kib, wall, user, system = stats.read().split()[-4:]
        if self.report is None:
            out = json.loads(done.stdout.splitlines()[-1])
        else:
            gate = json.loads((self.report / "report.json").read_text())["gates"][0]
            out = {**gate, "seconds": gate["duration_s"]}
        self.runs.append(Run(float(wall), float(user) + float(system), int(kib) / 1024, out))

    @property
    def wall(self) -> float:
        return median([r.wall_s for r in self.runs])

    @property
    def cpu(self) -> float:
        return median([r.cpu_s for r in self.runs])

    @property
    def peak(self) -> float:
        return max(r.peak_mib for r in self.runs)

    @property
    def out(self) -> dict[str, Any]:
        """What the last run reported (the data and rules are fixed, so are the verdicts)."""
        return self.runs[-1].out

    def summary(self, ours: Tool | None = None) -> str:
        """In-process and CPU time (medians) and peak memory (largest), beside ours if given."""
        cpu, peak = f"{self.cpu:.2f} s", f"{self.peak:.0f} MiB"
        if ours:
            cpu += f" ({self.cpu / ours.cpu:.1f}x ours)"
            peak += f" ({self.peak / ours.peak:.1f}x ours)"
        seconds = median([r.out["seconds"] for r in self.runs])
        return (f"median of {len(self.runs)}: in-process {seconds:.2f} s, CPU (user+sys) {cpu}; "
                f"max peak {peak}")

    def extra(self) -> dict[str, Any]:
        return {"peak_mib": self.peak, "cpu_s": self.cpu, "wall_runs_s": [r.wall_s for r in self.runs],
                "cpu_runs_s": [r.cpu_s for r in self.runs]}


def _interleave(tools: list[Tool]) -> None:
    for _ in range(REPEAT):
        for tool in tools:
            tool.once()


def _ours(spec: Path, folder: Path) -> Tool:
    out = folder / spec.stem
    return Tool([str(VENV_BIN / "python"), "-m", "mlops", "gate", "data", str(spec),
                 "--report-dir", str(out)], folder, report=out)


def _schema(fmt: str, reference: Path, pythons: dict[str, Path], folder: Path) -> list[Measurement]:
    ours = _ours(_spec(drift=False, fmt=fmt), folder)
    peers = [(peer, Tool([str(pythons[peer]), str(PEERS / script), str(reference)], PEERS), target)
             for peer, script, target in (("great-expectations", "great_expectations_check.py", ">= 10x"),
                                          ("pandera", "pandera_check.py", ">= 2x"))]
    _interleave([ours, *(tool for _, tool, _ in peers)])
    label = f"mlops data gate: schema + quality ({fmt})"
    size = f"{ROWS:,} rows x {len(FEATURES) + 1} columns, {reference.stat().st_size / 2**20:.0f} MiB {fmt}"
    results = [Measurement(NAME, label, ours.wall, "s", extra=ours.extra(),
                           notes=f"{size}; verdict {ours.out['status']}; {ours.summary()}")]
    results += [Measurement(NAME, f"{peer}: schema + quality ({fmt})", tool.wall, "s",
                            reference=label, ratio=tool.wall / ours.wall, target=target,
                            notes=f"ok={tool.out['ok']}; {tool.summary(ours)}", extra=tool.extra())
                for peer, tool, target in peers]
    return results


def _psi_on_evidently_bins(reference: Path, current: Path, feature: str) -> float:
    """PSI as Evidently 0.7 bins it (equal-width Sturges bins over both files together, empty
    bins filled with a tiny share), to show whether a verdict differs by binning alone: on a
    long right tail those bins put almost the whole reference in the first one."""
    def column(path: Path) -> npt.NDArray[np.float64]:
        if path.suffix == ".parquet":
            return np.asarray(pq.read_table(path, columns=[feature]).column(0))
        only = pcsv.ConvertOptions(include_columns=[feature])
        return np.asarray(pcsv.read_csv(path, convert_options=only).column(0))

    ref, cur = column(reference), column(current)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    shares = []
    for values in (ref, cur):
        share = np.histogram(values, edges)[0] / values.size
        smallest = share[share > 0].min()
        share[share == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
        shares.append(share)
    return float(np.sum((shares[0] - shares[1]) * np.log(shares[0] / shares[1])))


def _drift(fmt: str, reference: Path, current: Path, pythons: dict[str, Path],
           folder: Path) -> list[Measurement]:
    ours = _ours(_spec(drift=True, fmt=fmt), folder)
    evidently = Tool([str(pythons["evidently"]), str(PEERS / "evidently_drift.py"), str(reference),
                      str(current)], PEERS)
    _interleave([ours, evidently])
    checks = [c for c in ours.out["checks"] if c["name"].startswith("drift.f")]
    ours_scores = {c["name"].removeprefix("drift."): c["observed"] for c in checks}
    ours_drifted = sorted(c["name"].removeprefix("drift.") for c in checks if c["status"] == "fail")
    verdict = evidently.out
    differ = "; ".join(
        f"{f}: ours {ours_scores[f]:.3g}, evidently {verdict['scores'][f]:.3g}, ours with "
        f"evidently's bins {_psi_on_evidently_bins(reference, current, f):.3g}"
        for f in sorted(set(verdict["drifted"]) ^ set(ours_drifted)))
    label = f"mlops data gate: drift, plus schema + quality of both files ({fmt})"
    return [
        Measurement(NAME, label, ours.wall, "s",
                    notes=f"drifted {ours_drifted}; planted {sorted(SHIFTED)}; {ours.summary()}",
                    extra={**ours.extra(), "drifted": ours_drifted}),
        Measurement(NAME, f"evidently DataDriftPreset (psi): drift ({fmt})", evidently.wall, "s",
                    reference=label, ratio=evidently.wall / ours.wall, target=">= 10x",
                    notes=f"same verdicts: {verdict['drifted'] == ours_drifted} (evidently drifted "
                          f"{verdict['drifted']}{'; PSI ' + differ if differ else ''}); "
                          f"{evidently.summary(ours)}",
                    extra={**evidently.extra(), "drifted": verdict["drifted"],
                           "scores": verdict["scores"]}),
    ]


def run() -> list[Measurement]:
    files = generate()
    pythons = ensure_venvs()
    subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q", *PACKAGES_OF_OURS],
                   cwd=ROOT, check=True, env=_ENV)
    for path in (p for pair in files.values() for p in pair):  # warm the page cache for everyone
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory() as temp:
        for fmt, (reference, current) in files.items():
            results += _schema(fmt, reference, pythons, Path(temp))
            results += _drift(fmt, reference, current, pythons, Path(temp))
    return results
