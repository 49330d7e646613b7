"""Serving: `mlops serve` vs in-process onnxruntime (the floor) vs MLServer, same model, same load.

One run, one machine, the same ONNX file (the root example's) and the same request (one row,
Open Inference Protocol v2 JSON) for every server; wrk at 1, 8 and 32 connections, then one Locust
run per server as a second opinion. A Starlette variant of the same core records the HTTP-stack
choice. Targets (for the note, never asserted here): >= 1.5x MLServer's throughput at equal or
lower p99; < 1 ms server overhead over the floor at p50, concurrency 1.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from bench.common import ROOT, Measurement
from bench.serve.load import LoadResult, locust, wrk
from bench.serve.servers import free_port, mlops_serve, mlserver, starlette_variant

CONCURRENCY = (1, 8, 32)
SECONDS = 6
LOCUST_USERS = 8
BENCH = "serve"


def _row() -> dict[str, float]:
    from mlops.spec.loader import load_spec

    spec = load_spec(ROOT / "mlops.yaml", check_files=False).spec
    with (ROOT / spec.data.test).open() as handle:
        first = next(csv.DictReader(handle))
    return {name: float(first[name]) for name in spec.data.features}


def floor(model: Path, row: list[float], runs: int = 3000) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, runs/s) of session.run on one row, in-process, one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = np.array([row], dtype=np.float32)
    for _ in range(200):
        session.run(["probabilities"], {name: x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(["probabilities"], {name: x})
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), 1000 / float(ms.mean())


def _sweep(label: str, server: AbstractContextManager[str], path: str, body: Path,
           workdir: Path) -> Iterator[tuple[str, int | str, LoadResult]]:
    with server as base:
        wrk(base + path, body, 8, 1)  # warm-up
        for connections in CONCURRENCY:
            yield label, connections, wrk(base + path, body, connections, SECONDS)
        yield label, "locust", locust(base, path, body, LOCUST_USERS, SECONDS, workdir)


def run() -> list[Measurement]:
    model = ROOT / "models" / "model.onnx"
    if not model.exists():
        raise SystemExit(f"{model} is missing: run `python examples/breast_cancer/train.py`")
    features = _row()
    row = list(features.values())
    out: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        workdir = Path(folder)
        v2 = workdir / "v2.json"
        v2.write_text(json.dumps({"inputs": [{"name": "input", "shape": [1, len(row)],
                                              "datatype": "FP32", "data": row}]}))
        predict = workdir / "predict.json"
        predict.write_text(json.dumps({"instances": [features]}))
        f50, f99, frate = floor(model, row)
        out += [Measurement(BENCH, "onnxruntime in-process p50 (floor)", f50, "ms"),
                Measurement(BENCH, "onnxruntime in-process p99 (floor)", f99, "ms"),
                Measurement(BENCH, "onnxruntime in-process runs/s (floor)", frate, "runs/s")]
        spec = ROOT / "mlops.yaml"
        runs: dict[tuple[str, int | str], LoadResult] = {}
        plans: list[tuple[str, Callable[[], AbstractContextManager[str]], str, Path]] = [
            ("mlops v2", lambda: mlops_serve(spec, free_port()), "/v2/models/breast-cancer/infer",
             v2),
            ("mlops /predict", lambda: mlops_serve(spec, free_port()), "/predict", predict),
            ("mlserver v2", lambda: mlserver(model, "breast-cancer", free_port(), workdir),
             "/v2/models/breast-cancer/infer", v2),
        ]
        if importlib.util.find_spec("starlette") is not None:
            # The stack choice on equal work: no access log, no request log, same parsing,
            # batching and JSON; only the plain ASGI app still counts its metrics.
            from mlops.serving.config import ServerConfig
            from mlops.spec.loader import load_spec

            bare = workdir / "mlops.yaml"
            bare.write_text(re.sub(r"^  request_log: .*\n", "", spec.read_text(), flags=re.M))
            flags = ("--no-access-log", "--model", str(model))
            config = ServerConfig.from_spec(load_spec(bare, check_files=False)).with_overrides(
                model=model).to_json()
            plans += [("asgi bare /predict", lambda: mlops_serve(bare, free_port(), *flags),
                       "/predict", predict),
                      ("starlette bare /predict",
                       lambda: starlette_variant(config, free_port()), "/predict", predict)]
        for label, start, path, body in plans:
            for name, level, result in _sweep(label, start(), path, body, workdir):
                runs[(name, level)] = result
        out += _measurements(runs, f50)
    return out


def _measurements(runs: dict[tuple[str, int | str], LoadResult], floor_p50: float
                  ) -> list[Measurement]:
    out = []
    for (label, level), result in runs.items():
        where = f"c={level}" if level != "locust" else f"locust u={LOCUST_USERS}"
        peer = ("mlserver v2" if label.startswith("mlops") else
                "asgi bare /predict" if label.startswith("starlette") else None)
        reference = runs.get((peer, level)) if peer else None
        tool = "locust" if level == "locust" else "wrk"
        notes = f"{tool}; {result.errors} errors"
        out.append(Measurement(BENCH, f"{label} {where} throughput", result.rps, "req/s",
                               f"{peer} {where}" if reference else None,
                               result.rps / reference.rps if reference else None,
                               ">= 1.5x mlserver" if peer == "mlserver v2" else None, notes))
        for stat in ("p50_ms", "p99_ms"):
            value = getattr(result, stat)
            ref_value = getattr(reference, stat) if reference else None
            out.append(Measurement(BENCH, f"{label} {where} {stat[:3]}", value, "ms",
                                   f"{peer} {where}" if reference else None,
                                   value / ref_value if ref_value else None,
                                   "<= mlserver" if peer == "mlserver v2" and stat == "p99_ms"
                                   else None, notes))
    for label in ("mlops v2", "mlops /predict"):
        if (label, 1) in runs:
            overhead = runs[(label, 1)].p50_ms - floor_p50
            out.append(Measurement(BENCH, f"{label} server overhead at p50, c=1", overhead, "ms",
                                   "onnxruntime in-process p50 (floor)", None, "< 1 ms",
                                   "wrk p50 minus the in-process session.run p50"))
    return out


