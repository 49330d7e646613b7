"""The model gate's memory on a wide test split: this tree (the split read batch by batch) against
an earlier commit (by default the one before the streaming change, which read the whole split into
one Arrow table and then into numpy), side by side in one sitting.

The split is ROWS rows (env BENCH_MODEL_GATE_ROWS, default 1,000,000) of 120 float features, a
3-value segment code and a binary label, written once as Parquet in 65,536-row row groups under
.mlops/bench-data/model_gate/ (about 1 GB): random normals do not compress, so it is about as
large on disk as in memory. The model is a linear softmax over the features; the spec has a slice
and a group gap on the segment and the default robustness properties, no native model and no
baseline.

Each version runs the gate in its own process (the earlier commit from `git archive` into a
temporary folder, first on PYTHONPATH), interleaved ours, theirs, theirs, ours... REPEAT times
(env BENCH_REPEAT, default 1). A row reports the largest peak resident memory (`wait4`'s
ru_maxrss), the median user + system CPU seconds, and the peak bytes Arrow's memory pool held;
both runs must give the same verdicts.

`python -m bench model_gate`, or `python -m bench.bench_model_gate [--before REV]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from onnx import TensorProto, helper, numpy_helper

from bench.common import ROOT, Measurement, median

NAME = "model_gate"
ROWS = int(os.environ.get("BENCH_MODEL_GATE_ROWS", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "1"))
WIDTH = 120
GROUP_ROWS = 65_536
BEFORE = "b2451b9"
"""The commit before the model gate read its split batch by batch."""
DATA = ROOT / ".mlops" / "bench-data" / "model_gate"

CHILD = """
import json, resource, sys, time
import pyarrow as pa
import mlops
from mlops.harness.gate import GateOptions
from mlops.harness.model.gate import GATE
from mlops.spec.loader import load_spec

result = GATE.run(load_spec(sys.argv[1]), GateOptions())
print(json.dumps({
    "package": mlops.__file__,
    "arrow_peak": pa.default_memory_pool().max_memory(),
    "checks": {c.name: [c.status, c.observed] for c in result.checks},
}))
"""


@dataclass
class Run:
    peak_rss: int
    """Bytes."""
    cpu_s: float
    arrow_peak: int
    checks: dict[str, Any]


def project(rows: int = ROWS) -> Path:
    """The spec of the wide project (written once per row count)."""
    folder = DATA / f"rows-{rows}"
    spec = folder / "mlops.yaml"
    if spec.is_file():
        return spec
    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(0)
    weights = np.zeros((WIDTH + 1, 2), np.float32)
    weights[:WIDTH, 1] = generator.normal(size=WIDTH) / np.sqrt(WIDTH)
    names = [f"f{i}" for i in range(WIDTH)]
    schema = pa.schema([*(pa.field(n, pa.float64()) for n in names),
                        pa.field("segment", pa.int64()), pa.field("label", pa.int64())])
    partial = folder / "test.parquet.partial"
    with pq.ParquetWriter(partial, schema) as writer:
        for start in range(0, rows, GROUP_ROWS):
            count = min(GROUP_ROWS, rows - start)
            values = generator.normal(size=(count, WIDTH))
            noise = generator.normal(size=count)
            label = (values @ weights[:WIDTH, 1] + 0.5 * noise > 0).astype(np.int64)
            arrays = [pa.array(values[:, i]) for i in range(WIDTH)]
            arrays += [pa.array(np.arange(start, start + count) % 3), pa.array(label)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    partial.rename(folder / "test.parquet")
    _model(folder / "model.onnx", weights)
    columns: dict[str, Any] = {name: {"dtype": "float"} for name in names}
    columns |= {"segment": {"dtype": "int"}, "label": {"dtype": "int"}}
    spec.write_text(yaml.safe_dump({
        "version": 1, "name": "wide",
        "data": {"train": "test.parquet", "test": "test.parquet", "format": "parquet",
                 "target": "label", "schema": columns},
        "model": {"task": "binary_classification", "artifact": "model.onnx", "baseline": None},
        "metrics": {"accuracy": ">= 0.6",
                    "slices": [{"by": "segment == 1", "metric": "accuracy", "threshold": ">= 0.6"}],
                    "group_gaps": [{"column": "segment", "metric": "accuracy", "max_gap": 0.1}]},
        "deploy": {"image": "localhost/wide", "environments": [{"name": "t", "namespace": "t"}]},
    }, sort_keys=False))
    return spec


def _model(path: Path, weights: np.ndarray) -> None:
    nodes = [helper.make_node("Gemm", ["input", "W"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    graph = helper.make_graph(
        nodes, "wide",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", WIDTH + 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(weights, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def checkout(rev: str, into: Path) -> Path:
    """The tree of `rev` (`git archive`: the repository is not touched)."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="tar")
    return into


def measure(spec: Path, tree: Path | None) -> Run:
    """One gate run in a new process (`tree` first on PYTHONPATH, else this tree)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(spec)], env=env,
                               stdout=subprocess.PIPE, cwd=tree or ROOT)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"the gate run failed ({process.returncode})")
    found = json.loads(output)
    expected = str(tree) if tree is not None else str(ROOT)
    if not found["package"].startswith(expected):
        raise RuntimeError(f"imported {found['package']}, not the tree under {expected}")
    return Run(usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, found["arrow_peak"],
               found["checks"])


def compare(before: str = BEFORE) -> list[Measurement]:
    spec = project()
    size = (spec.parent / "test.parquet").stat().st_size
    runs: dict[str, list[Run]] = {"streamed": [], "whole": []}
    with tempfile.TemporaryDirectory(prefix="bench-model-gate-") as folder:
        old = checkout(before, Path(folder))
        for index in range(REPEAT):
            order = ["streamed", "whole"] if index % 2 == 0 else ["whole", "streamed"]
            for which in order:
                runs[which].append(measure(spec, None if which == "streamed" else old))
    verdicts = {which: {name: status for name, (status, _) in found[0].checks.items()}
                for which, found in runs.items()}
    if verdicts["streamed"] != verdicts["whole"]:
        raise RuntimeError(f"different verdicts: {verdicts}")
    note = f"{ROWS} rows x {WIDTH + 2} columns, Parquet {size / 2**30:.2f} GiB"
    results = []
    for which, found in runs.items():
        reference = None if which == "whole" else f"{before} (whole split)"
        peak = max(run.peak_rss for run in found)
        old_peak = max(run.peak_rss for run in runs["whole"])
        results += [
            Measurement(NAME, f"{which}: peak RSS", peak / 2**20, "MiB", reference,
                        old_peak / peak if reference else None, notes=note),
            Measurement(NAME, f"{which}: Arrow pool peak",
                        max(run.arrow_peak for run in found) / 2**20, "MiB", notes=note),
            Measurement(NAME, f"{which}: CPU", median([run.cpu_s for run in found]), "s",
                        reference, median([r.cpu_s for r in runs["whole"]])
                        / median([r.cpu_s for r in found]) if reference else None, notes=note),
        ]
    return results


def run() -> list[Measurement]:
    return compare()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision to compare with")
    arguments = parser.parse_args()
    print(f"load average {os.getloadavg()}")
    for found in compare(arguments.before):
        ratio = f" ({found.ratio:.2f}x {found.reference})" if found.ratio else ""
        print(f"{found.name}: {found.value:.1f} {found.unit}{ratio}")


if __name__ == "__main__":
    main()
