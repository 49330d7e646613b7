"""The three workloads of the serving bench, and the request each server gets for them.

- example: the root example's logistic regression (30 floats, one graph input): ~µs per row, so
  the figures measure the HTTP stack.
- forest: a 300-tree random forest on the same data, exported with skl2onnx (built here once,
  cached under .mlops/bench-serve/): inference dominates.
- churn: examples/churn, a LightGBM pipeline with one graph input per column, four of them strings.
- forest-64, churn-64: the same models, 64 rows per request, where the model's time is no longer
  small beside the HTTP request's: the workloads for served vs in-process rows/s.

Every server gets the same row (the test set's first complete one), once or 64 times: Open
Inference Protocol v2 JSON for mlops, MLServer and KServe (the same bytes), BentoML's own JSON for
BentoML, and mlops' /predict instances as an extra row for the example.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT

CACHE = ROOT / ".mlops" / "bench-serve"
FOREST_TREES = 300
ROWS_PER_REQUEST = 64
"""Rows in each request of the many-row workloads (forest-64, churn-64)."""
_NUMPY_TYPES = {"tensor(float)": "<f4", "tensor(double)": "<f8", "tensor(int64)": "<i8",
                "tensor(int32)": "<i4"}
_V2_TYPES = {"tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(int64)": "INT64",
             "tensor(int32)": "INT32", "tensor(string)": "BYTES"}


@dataclass(frozen=True)
class Workload:
    name: str
    spec: Path
    model: Path
    served_name: str
    row: dict[str, Any]
    rows: int = 1
    """Rows per request: copies of `row`."""

    def graph_inputs(self) -> list[tuple[str, str, list[int | None]]]:
        """(name, onnx type, shape) of each graph input."""
        import onnxruntime as ort

        session = ort.InferenceSession(str(self.model), providers=["CPUExecutionProvider"])
        return [(i.name, i.type, list(i.shape)) for i in session.get_inputs()]

    def tensors(self, rows: int | None = None) -> dict[str, list[list[Any]]]:
        """{graph input: [[value, ...], ...]}: `rows` (default: the request's) copies of the row,
        all features in one input or one input per column."""
        count = self.rows if rows is None else rows
        inputs = self.graph_inputs()
        if len(inputs) == 1:
            return {inputs[0][0]: [list(self.row.values())] * count}
        return {name: [[self.row[name]]] * count for name, _, _ in inputs}

    def v2_body(self) -> dict[str, Any]:
        tensors = self.tensors()
        return {"inputs": [{"name": name, "shape": [self.rows, len(tensors[name][0])],
                            "datatype": _V2_TYPES[kind],
                            "data": [value for row in tensors[name] for value in row]}
                           for name, kind, _ in self.graph_inputs()]}

    def v2_binary_body(self) -> tuple[bytes, int]:
        """(body, JSON header length): the same tensors in v2's binary data extension, raw
        little-endian numbers and 4-byte length-prefixed strings after a JSON header."""
        import numpy as np

        from mlops.serving.protocol import bytes_blob

        tensors = self.tensors()
        head: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        for name, kind, _ in self.graph_inputs():
            rows = tensors[name]
            blob = (bytes_blob(np.asarray(rows, dtype=object)) if kind == "tensor(string)"
                    else np.asarray(rows, dtype=_NUMPY_TYPES[kind]).tobytes())
            head.append({"name": name, "shape": [len(rows), len(rows[0])],
                         "datatype": _V2_TYPES[kind], "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
        header = json.dumps({"inputs": head}).encode()
        return header + b"".join(blobs), len(header)

    def bentoml_request(self) -> tuple[str, dict[str, Any]]:
        """(path, body): the batchable ndarray API for one input, the column API otherwise."""
        tensors = self.tensors()
        if len(tensors) == 1:
            return "/predict", {"input": next(iter(tensors.values()))}
        return "/predict_columns", {"inputs": tensors}

    def predict_body(self) -> dict[str, Any]:
        return {"instances": [self.row] * self.rows}


def _first_complete_row(spec_path: Path) -> tuple[str, dict[str, Any]]:
    """(spec name, the first test row without nulls, typed as data.schema says)."""
    from mlops.spec.loader import load_spec

    spec = load_spec(spec_path, check_files=False).spec
    with (spec_path.parent / spec.data.test).open() as handle:
        first = next(r for r in csv.DictReader(handle)
                     if all(r[name] != "" for name in spec.data.features))
    kinds = {name: column.dtype for name, column in spec.data.columns.items()}
    row: dict[str, Any] = {}
    for name in spec.data.features:
        kind = kinds.get(name, "float")
        row[name] = (int(first[name]) if kind == "int" else first[name]
                     if kind in ("str", "category") else float(first[name]))
    return spec.name, row


def forest_model() -> Path:
    """A 300-tree random forest on the example's training data (seeded, built once)."""
    path = CACHE / f"forest-{FOREST_TREES}.onnx"
    if path.exists():
        return path
    import numpy as np
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestClassifier

    from mlops.spec.loader import load_spec

    spec = load_spec(ROOT / "mlops.yaml", check_files=False).spec
    with (ROOT / spec.data.train).open() as handle:
        rows = list(csv.DictReader(handle))
    x = np.array([[float(r[f]) for f in spec.data.features] for r in rows], dtype=np.float32)
    y = np.array([r[spec.data.target] for r in rows])
    forest = RandomForestClassifier(n_estimators=FOREST_TREES, random_state=0, n_jobs=1).fit(x, y)
    graph = to_onnx(forest, initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
                    options={id(forest): {"zipmap": False}}, target_opset=17)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.SerializeToString())
    return path


def workloads(names: list[str] | None = None) -> list[Workload]:
    root_name, root_row = _first_complete_row(ROOT / "mlops.yaml")
    churn_spec = ROOT / "examples" / "churn" / "mlops.yaml"
    churn_name, churn_row = _first_complete_row(churn_spec)
    found = {
        "example": lambda: Workload("example", ROOT / "mlops.yaml", ROOT / "models" / "model.onnx",
                                    root_name, root_row),
        "forest": lambda: Workload("forest", ROOT / "mlops.yaml", forest_model(), root_name,
                                   root_row),
        "churn": lambda: Workload("churn", churn_spec, churn_spec.parent / "models" / "model.onnx",
                                  churn_name, churn_row),
        "forest-64": lambda: Workload("forest-64", ROOT / "mlops.yaml", forest_model(),
                                      root_name, root_row, ROWS_PER_REQUEST),
        "churn-64": lambda: Workload("churn-64", churn_spec,
                                     churn_spec.parent / "models" / "model.onnx", churn_name,
                                     churn_row, ROWS_PER_REQUEST),
    }
    return [found[name]() for name in (names or list(found))]


def write_json(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(json.dumps(body))
    return path
