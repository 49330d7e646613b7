"""The data gate's scan of a many-file Parquet dataset on the local engine vs the Ray engine, side
by side on this machine (2 CPUs each), with the peak memory of a part's task.

The dataset is generated once under .mlops/bench-data/engines-<GB>g/: BENCH_ENGINES_FILES files
(default 8) of 30 float features and a label, BENCH_ENGINES_GB in all (default 0.2; the issue's
run is BENCH_ENGINES_GB=5 BENCH_ENGINES_FILES=50), row groups of 100,000 rows. Each engine runs in
its own process (`python -m bench.bench_data_engines ENGINE FOLDER`), which scans the folder as
the data gate does (`FileScan.scan`) and prints one JSON line: wall seconds, rows, parts, and per
task the peak resident memory of the process that ran it (a Ray worker, or the local process,
whose threads share one heap). Ray's start (about 3 s) is outside the timed scan: a cluster is
already running when a team uses it. Targets: Ray at most 1.3x the local time.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import ROOT, Measurement
from mlops.harness.data.scan import tally_part

NAME = "data_engines"
GB = float(os.environ.get("BENCH_ENGINES_GB", "0.2"))
FILES = int(os.environ.get("BENCH_ENGINES_FILES", "8"))
FEATURES = [f"f{i:02d}" for i in range(30)]
ROW_BYTES = 8 * (len(FEATURES) + 1)
ROW_GROUP = 100_000
OBJECT_STORE = int(float(os.environ.get("BENCH_ENGINES_OBJECT_STORE_MB", "80")) * 2**20)
"""Ray's object store (the tests' cap, for containers' 64 MB /dev/shm); results larger than it
spill to disk."""


def _generate(folder: Path) -> None:
    """Files of random features (incompressible, so GB on disk is GB to read)."""
    if (folder / "_SUCCESS").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rows = int(GB * 1e9 / ROW_BYTES / FILES)
    rng = np.random.default_rng(0)
    for index in range(FILES):
        columns = {name: rng.normal(size=rows) for name in FEATURES}
        columns["label"] = rng.integers(0, 2, size=rows).astype(np.int64)
        day = f"dt=2026-11-{1 + index % 28:02d}"
        (folder / day).mkdir(exist_ok=True)
        pq.write_table(pa.table(columns), folder / day / f"part-{index:03d}.parquet",
                       row_group_size=ROW_GROUP, compression="none")
    (folder / "_SUCCESS").write_text("")


def _data() -> Any:
    from mlops.spec.models import Data

    schema: dict[str, Any] = {name: {"dtype": "float"} for name in FEATURES}
    schema["label"] = {"dtype": "int", "allowed": [0, 1]}
    return Data.model_validate({"format": "parquet", "train": "t", "test": "t", "target": "label",
                                "schema": schema})


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measured_tally(job: Any) -> Any:
    """The data gate's part task, and the peak memory of the process after it."""
    result = tally_part(job)
    setattr(result, "peak_kb", _peak_kb())  # noqa: B010 (a bench-only note on the result)
    return result


def scan_once(engine_name: str, folder: Path) -> dict[str, Any]:
    """One scan of the folder on one engine (run in a process of its own)."""
    from mlops.harness.data import scan
    from mlops.harness.data.fileset import FileSet
    from mlops.harness.engine import open_engine

    data = _data()
    warm = 0.0
    if engine_name == "ray":
        import ray

        ray.init(num_cpus=2, object_store_memory=OBJECT_STORE, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        started = time.perf_counter()  # start both workers and import mlops in them
        ray.get([ray.remote(_warm).remote() for _ in range(2)])
        warm = time.perf_counter() - started
    with open_engine(engine_name) as inner:  # type: ignore[arg-type]
        engine = _Measured(inner)
        scan.tally_part = measured_tally
        try:
            dataset = FileSet.open(str(folder), ROOT, "parquet", {
                name: column.dtype for name, column in data.columns.items()})
            started = time.perf_counter()
            scanned = scan.FileScan(dataset, data, FEATURES, []).scan(engine)
            seconds = time.perf_counter() - started
        finally:
            scan.tally_part = tally_part
    return {"engine": engine_name, "seconds": seconds, "warm_up_seconds": warm,
            "rows": scanned.rows, "parts": len(dataset.parts()), "files": len(dataset.files),
            "task_peak_mb": max(engine.peaks) / 1024, "driver_peak_mb": _peak_kb() / 1024,
            "result_mb": engine.result_bytes / 2**20}


def _warm() -> int:
    import mlops.harness.data.scan  # noqa: F401

    return os.getpid()


class _Measured:
    """An engine that notes each result's peak memory and pickled size."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.peaks: list[int] = []
        self.result_bytes = 0

    def map(self, task: Any, items: Any) -> Any:
        for result in self.inner.map(task, items):
            self.peaks.append(result.peak_kb)
            self.result_bytes += len(pickle.dumps(result))
            yield result


def run() -> list[Measurement]:
    folder = ROOT / ".mlops" / "bench-data" / f"engines-{GB:g}g-{FILES}f"
    _generate(folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results = {}
    for engine in ("local", "ray"):
        done = subprocess.run([sys.executable, "-m", "bench.bench_data_engines", engine,
                               str(folder)], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True)
        results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    local, ray = results["local"], results["ray"]
    size = f"{GB:g} GB, {local['files']} files, {local['parts']} parts, {local['rows']:,} rows"
    return [
        Measurement(NAME, "scan, local engine", local["seconds"], "s", notes=size,
                    extra=local),
        Measurement(NAME, "scan, Ray engine", ray["seconds"], "s", reference="local engine",
                    ratio=ray["seconds"] / local["seconds"], target="<= 1.3", notes=size,
                    extra=ray),
        Measurement(NAME, "peak memory of a Ray task's worker", ray["task_peak_mb"], "MiB",
                    notes="one part: row groups up to 250,000 rows"),
        Measurement(NAME, "peak memory, local process", local["driver_peak_mb"], "MiB",
                    notes="2 parts in flight at once, plus the merged tallies"),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(scan_once(sys.argv[1], Path(sys.argv[2]))))
    else:
        for measurement in run():
            print(json.dumps(measurement.as_dict()))
