"""The ONNX model behind the server: a configured onnxruntime session checked against the spec.

The contract (one float input [batch, n_features]; classifiers give `probabilities`
[batch, n_classes], regressors [batch] or [batch, 1]) is checked once at load time, so a wrong
artifact fails `mlops serve` with a sentence instead of failing every request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from .config import ServerConfig

ORT_TO_V2 = {
    "tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(float16)": "FP16",
    "tensor(int64)": "INT64", "tensor(int32)": "INT32", "tensor(int16)": "INT16",
    "tensor(int8)": "INT8", "tensor(uint8)": "UINT8", "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}


class ModelError(Exception):
    """The artifact cannot be served as the spec describes it."""


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output as the Open Inference Protocol describes it (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def metadata(self) -> dict[str, object]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def _info(node: ort.NodeArg) -> TensorInfo:
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (node.shape or []))
    return TensorInfo(node.name, ORT_TO_V2.get(node.type, node.type), shape)


class OnnxModel:
    """One onnxruntime session plus what the server derives from it (labels, score output)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if not os.path.isfile(config.model_path):
            raise ModelError(f"model artifact not found: {config.model_path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(config.model_path, sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises several unrelated types for bad files
            raise ModelError(f"cannot load {config.model_path} with onnxruntime: {error}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"the model has {len(inputs)} inputs; expected one float input "
                             "[batch, n_features]")
        self.input = _info(inputs[0])
        self.outputs = tuple(_info(node) for node in self.session.get_outputs())
        n_features = len(config.features)
        if self.input.datatype != "FP32" or len(self.input.shape) != 2:
            raise ModelError(f"the model input '{self.input.name}' is {self.input.datatype} "
                             f"{list(self.input.shape)}; expected FP32 [batch, {n_features}]")
        if self.input.shape[1] not in (-1, n_features):
            raise ModelError(f"the model takes {self.input.shape[1]} features but data.schema "
                             f"declares {n_features}")
        self.score_output = self._score_output()
        self.labels: tuple[str, ...] = ()

    def _score_output(self) -> str:
        """Which output the server reads: `probabilities` for classifiers, else the first float."""
        names = [o.name for o in self.outputs]
        if self.config.task != "regression" and "probabilities" in names:
            return "probabilities"
        for output in self.outputs:
            if output.datatype in ("FP32", "FP64"):
                return output.name
        raise ModelError(f"the model has no float output (outputs: {', '.join(names)})")

    def run(self, features: np.ndarray, names: list[str] | None = None) -> list[np.ndarray]:
        """One session run on a float32 [rows, n_features] array."""
        result: list[np.ndarray] = self.session.run(names, {self.input.name: features})
        return result

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Probabilities [rows, n_classes] or values [rows] as float64-compatible array."""
        out = self.run(features, [self.score_output])[0]
        return out.reshape(len(features)) if self.config.task == "regression" else out

    def warm_up(self, max_batch_size: int) -> None:
        """Run every batch size the server will use once, and derive the class labels."""
        width = len(self.config.features)
        for rows in sorted({1, max(1, max_batch_size // 2), max_batch_size}):
            scores = self.scores(np.zeros((rows, width), dtype=np.float32))
            if scores.shape[0] != rows:
                raise ModelError(f"the model returned {scores.shape[0]} rows for {rows} inputs")
        if self.config.task == "regression":
            return
        if scores.ndim != 2:
            raise ModelError(f"classifier output '{self.score_output}' has shape "
                             f"{list(scores.shape)}; expected [batch, n_classes]")
        n_classes = scores.shape[1]
        labels = self.config.labels
        if labels is not None and len(labels) != n_classes:
            raise ModelError(f"model.labels names {len(labels)} classes but the model outputs "
                             f"{n_classes}")
        self.labels = labels or tuple(str(i) for i in range(n_classes))
