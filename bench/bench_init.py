"""`mlops init` inferring a spec from the data gate bench's 1,000,000-row x 30-column files, side
by side with `mlops gate data` on the same file (issue #19: "in about the time of one data-gate
run, memory bounded by the part size").

The files and the data gate's schema spec are bench_data_gate's (generated once under
.mlops/bench-data/). init also needs a model and a test split: a logistic regression fitted on the
first 20,000 rows and exported by skl2onnx, and the first 2,000 rows of the current file, so the
run is dominated by inferring the schema of the big file (the model's first evaluation and its
timing take about a second). Each command runs REPEAT times, interleaved with the gate (run on
bench_data_gate's schema spec), under GNU time (wall, CPU, peak memory); a third row runs init on
the first 10,000 rows of the same file, to show how much of the peak is the file and how much the
imports.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from bench.bench_data_gate import _ENV, DATA, FORMATS, PACKAGES_OF_OURS, REPEAT, ROWS, _spec, generate
from bench.common import ROOT, VENV_BIN, Measurement, median
from bench.data_gate_peers.rules import FEATURES, TARGET

NAME = "init"
TRAIN_ROWS = 20_000
TEST_ROWS = 2_000
SMALL_ROWS = 10_000


@dataclass
class Timed:
    """One command under GNU time, REPEAT times."""

    command: list[str]
    cwd: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)

    def once(self) -> None:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
            done = subprocess.run(["/usr/bin/time", "-f", "%M %e %U %S", "-o", stats.name,
                                   *self.command], cwd=self.cwd, capture_output=True, text=True,
                                  env=_ENV)
            if done.returncode != 0:
                raise RuntimeError(f"{self.command[:4]} exited {done.returncode}: {done.stderr[-2000:]}")
            kib, wall, user, system = stats.read().split()[-4:]
        self.wall.append(float(wall))
        self.cpu.append(float(user) + float(system))
        self.peak_mib.append(int(kib) / 1024)

    def summary(self) -> str:
        return (f"median of {len(self.wall)}: wall {median(self.wall):.2f} s, CPU (user+sys) "
                f"{median(self.cpu):.2f} s; max peak {max(self.peak_mib):.0f} MiB")


def _head(source: Path, rows: int, target: Path) -> Path:
    """The first `rows` rows of a bench file, in its format, written once."""
    if not target.is_file():
        if source.suffix == ".csv":
            table = pcsv.read_csv(source).slice(0, rows)
            pcsv.write_csv(table, target)
        else:
            pq.write_table(pq.ParquetFile(source).read_row_group(0).slice(0, rows), target)
    return target


def _model(reference: Path) -> Path:
    """A logistic regression on the first TRAIN_ROWS rows: one float input of every feature."""
    path = DATA / "init-model.onnx"
    if path.is_file():
        return path
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    table = pcsv.read_csv(reference).slice(0, TRAIN_ROWS)
    features = np.column_stack([table.column(name).to_numpy() for name in FEATURES])
    labels = table.column(TARGET).to_numpy()
    model = LogisticRegression(max_iter=1000).fit(features, labels)
    graph = to_onnx(model, features[:1].astype(np.float32), options={"zipmap": False})
    path.write_bytes(graph.SerializeToString())
    return path


def _init(data: Path, test: Path, model: Path) -> Timed:
    return Timed([str(VENV_BIN / "python"), "-m", "mlops", "init", "--data", data.name, "--test",
                  test.name, "--model", model.name, "--target", TARGET, "--print"], DATA)


def run() -> list[Measurement]:
    files = generate()
    subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q", *PACKAGES_OF_OURS],
                   cwd=ROOT, check=True, env=_ENV)
    model = _model(files["csv"][0])
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory() as temp:
        for fmt in FORMATS:
            reference, current = files[fmt]
            test = _head(current, TEST_ROWS, DATA / f"init-test.{fmt}")
            small = _head(reference, SMALL_ROWS, DATA / f"init-small.{fmt}")
            with reference.open("rb") as handle:  # a warm page cache for both
                while handle.read(1 << 24):
                    pass
            gate = Timed([str(VENV_BIN / "python"), "-m", "mlops", "gate", "data",
                          str(_spec(drift=False, fmt=fmt)), "--report-dir", temp], DATA)
            big, little = _init(reference, test, model), _init(small, test, model)
            for _ in range(REPEAT):
                gate.once()
                big.once()
                little.once()
            mib = reference.stat().st_size / 2**20
            size = f"{ROWS:,} rows x {len(FEATURES) + 1} columns, {mib:.0f} MiB {fmt}"
            gate_label = f"mlops gate data: schema + quality ({fmt}, for init)"
            results += [
                Measurement(NAME, gate_label, median(gate.wall), "s",
                            notes=f"{size}; {gate.summary()}",
                            extra={"peak_mib": max(gate.peak_mib), "cpu_s": median(gate.cpu),
                                   "wall_runs_s": gate.wall}),
                Measurement(NAME, f"mlops init --print ({fmt})", median(big.wall), "s",
                            reference=gate_label, ratio=median(gate.wall) / median(big.wall),
                            target=">= 1x (about the time of one data-gate run)",
                            notes=f"{size}, with a {TEST_ROWS:,}-row test split; {big.summary()}",
                            extra={"peak_mib": max(big.peak_mib), "cpu_s": median(big.cpu),
                                   "wall_runs_s": big.wall}),
                Measurement(NAME, f"mlops init --print, first {SMALL_ROWS:,} rows ({fmt})",
                            median(little.wall), "s",
                            notes=f"the same columns: the peak that is not the file; {little.summary()}",
                            extra={"peak_mib": max(little.peak_mib), "cpu_s": median(little.cpu)}),
            ]
    return results

