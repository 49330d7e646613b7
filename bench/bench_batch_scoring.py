"""Batch scoring: `mlops predict` (local engine and Ray) against a plain onnxruntime loop over the
same Parquet files, side by side on this machine.

The dataset is generated once under .mlops/bench-data/batch-<ROWS>r-<FILES>f/: rows drawn with
replacement from the root example's training set (so every row passes the serving schema rules),
the 30 features plus an `id` key, BENCH_BATCH_FILES files (default 10) of BENCH_BATCH_ROWS rows
in all (default 2,000,000), Hive-partitioned by day. Each contender runs in a process of its own
(`python -m bench.bench_batch_scoring MODE FOLDER OUTPUT`) and writes its predictions as Parquet:

- `loop`: what a team writes by hand: for each file, record batches of 65,536 rows, one
  float32 matrix, `session.run` (onnxruntime's default threads), one Parquet file of id and
  probabilities per input file. No schema rules, no lineage columns, no staging.
- `local` / `ray`: `mlops predict` with the key `id` (the serving contract and schema rules, one
  Parquet file per part with label, probabilities, model version and digest, scoring time, staged
  and committed with _SUCCESS). Ray's start is timed apart: a team's cluster is already running.

Target (the issue's): `mlops predict` rows/s at least 0.8x the loop's. Peak memory is the
resident peak of the process that scores (the driver for Ray).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Measurement

NAME = "batch_scoring"
ROWS = int(os.environ.get("BENCH_BATCH_ROWS", "2000000"))
FILES = int(os.environ.get("BENCH_BATCH_FILES", "10"))
SPEC = ROOT / "mlops.yaml"
LOOP_BATCH = 65_536


def _generate(folder: Path) -> None:
    """Rows resampled from the example's training data, an `id` key, one file per day."""
    if (folder / "_SUCCESS").exists():
        return
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    from mlops.spec.loader import load_spec

    spec = load_spec(SPEC, check_files=False).spec
    train = pa_csv.read_csv(SPEC.parent / spec.data.train).select(spec.data.features)
    rng = np.random.default_rng(0)
    per_file = ROWS // FILES
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(FILES):
        table = train.take(pa.array(rng.integers(0, train.num_rows, size=per_file)))
        ids = pa.array(np.arange(index * per_file, (index + 1) * per_file, dtype=np.int64))
        day = folder / f"dt=2026-11-{1 + index % 28:02d}"
        day.mkdir(exist_ok=True)
        pq.write_table(table.append_column("id", ids), day / f"part-{index:03d}.parquet",
                       row_group_size=200_000)
    (folder / "_SUCCESS").write_text("")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU seconds of this process and every process it started that still runs (Ray's raylet
    and workers), from /proc: on a busy machine the fairer figure than the wall clock."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while listed
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    mine = {os.getpid()}
    while grown := {child for child, parent in parents.items() if parent in mine} - mine:
        mine |= grown
    return sum(used[pid] for pid in mine if pid in used)


def loop(folder: Path, output: Path) -> dict[str, Any]:
    """The hand-written baseline: read, run, write, file by file."""
    import numpy as np
    import onnxruntime as ort
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops.spec.loader import load_spec

    spec = load_spec(SPEC, check_files=False).spec
    session = ort.InferenceSession(str(SPEC.parent / spec.model.artifact),
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    output.mkdir(parents=True)
    started, cpu, rows = time.perf_counter(), _cpu_seconds(), 0
    for index, path in enumerate(sorted(folder.glob("*/*.parquet"))):
        ids, scores = [], []
        for batch in pq.ParquetFile(path).iter_batches(batch_size=LOOP_BATCH,
                                                         columns=[*spec.data.features, "id"]):
            matrix = np.column_stack([batch.column(f).to_numpy() for f in spec.data.features])
            scores.append(session.run(["probabilities"], {name: matrix.astype(np.float32)})[0])
            ids.append(batch.column("id"))
            rows += batch.num_rows
        probabilities = np.concatenate(scores)
        columns = {"id": pa.chunked_array(ids)} | {
            f"probability_{label}": probabilities[:, i] for i, label in enumerate(spec.model.labels or [])}
        pq.write_table(pa.table(columns), output / f"part-{index:05d}.parquet")
    return {"mode": "loop", "seconds": time.perf_counter() - started, "rows": rows,
            "cpu_seconds": _cpu_seconds() - cpu, "warm_up_seconds": 0.0, "peak_mb": _peak_mb()}


def mlops_predict(engine_name: str, folder: Path, output: Path) -> dict[str, Any]:
    """`mlops predict` as the CLI runs it, the engine already started."""
    from mlops.harness.batch.predict import model_source, predict
    from mlops.harness.engine import open_engine
    from mlops.spec.loader import load_spec

    loaded = load_spec(SPEC)
    onnx = loaded.resolve(loaded.spec.model.artifact).read_bytes()
    warm = 0.0
    if engine_name == "ray":
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, object_store_memory=80 * 2**20, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        ray.get([ray.remote(_warm).remote() for _ in range(2)])
        warm = time.perf_counter() - started
    with open_engine(engine_name) as engine:  # type: ignore[arg-type]
        started, cpu = time.perf_counter(), _cpu_seconds()
        scored = predict(loaded, model_source(loaded, onnx, None), str(folder), str(output),
                         ["id"], engine)
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    return {"mode": engine_name, "seconds": seconds, "rows": scored.rows, "cpu_seconds": cpu,
            "warm_up_seconds": warm, "peak_mb": _peak_mb(), "files": scored.files}


def _warm() -> int:
    import mlops.harness.batch.scoring  # noqa: F401

    return os.getpid()


def run() -> list[Measurement]:
    folder = ROOT / ".mlops" / "bench-data" / f"batch-{ROWS}r-{FILES}f"
    _generate(folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results: dict[str, dict[str, Any]] = {}
    for mode in ("loop", "local", "ray"):
        output = folder.parent / f"{folder.name}-out-{mode}"
        shutil.rmtree(output, ignore_errors=True)
        finished = subprocess.run([sys.executable, "-m", "bench.bench_batch_scoring", mode,
                                   str(folder), str(output)], env=env, cwd=ROOT,
                                  capture_output=True, text=True)
        if finished.returncode != 0:
            raise RuntimeError(f"{mode} failed:\n{finished.stderr}")
        results[mode] = json.loads(finished.stdout.strip().splitlines()[-1])
        shutil.rmtree(output, ignore_errors=True)
    loop_rate = results["loop"]["rows"] / results["loop"]["seconds"]
    loop_cpu_rate = results["loop"]["rows"] / results["loop"]["cpu_seconds"]
    out: list[Measurement] = []
    for mode, result in results.items():
        rate = result["rows"] / result["seconds"]
        label = "plain onnxruntime loop" if mode == "loop" else f"mlops predict, {mode} engine"
        out += [Measurement(NAME, f"{label}: rows/s", rate, "rows/s",
                            "plain onnxruntime loop" if mode != "loop" else None,
                            rate / loop_rate if mode != "loop" else None,
                            ">= 0.8" if mode != "loop" else None,
                            f"{result['rows']:,} rows in {result['seconds']:.1f} s, "
                            f"{result['cpu_seconds']:.1f} CPU s; start "
                            f"{result['warm_up_seconds']:.1f} s apart"),
                Measurement(NAME, f"{label}: rows per CPU second",
                            result["rows"] / result["cpu_seconds"], "rows/CPU s",
                            "plain onnxruntime loop" if mode != "loop" else None,
                            (result["rows"] / result["cpu_seconds"]) / loop_cpu_rate
                            if mode != "loop" else None,
                            notes="CPU of the scoring process and the processes it started "
                                  "(Ray: raylet and workers)"),
                Measurement(NAME, f"{label}: peak memory", result["peak_mb"], "MiB",
                            notes="resident peak of the scoring process (Ray: the driver)")]
    return out


if __name__ == "__main__":
    mode, source, destination = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    measured = loop(source, destination) if mode == "loop" else mlops_predict(mode, source,
                                                                             destination)
    print(json.dumps(measured))
