"""Shared by the peer runtimes (each runs in its own venv, with only numpy and onnxruntime):
open the ONNX file as every server here does, and turn decoded request tensors into the
session's feeds.

Copied beside each peer's runtime file, so it must import nothing from this project.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort

_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
           "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(string)": np.object_}


def open_session(path: str) -> ort.InferenceSession:
    """One intra-op thread, sequential, full graph optimisation: the settings `mlops serve` uses."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def feeds(session: ort.InferenceSession, tensors: dict[str, Any]) -> dict[str, np.ndarray]:
    """{graph input: array of its type}; text arrives as str or bytes, depending on the codec."""
    out = {}
    for graph_input in session.get_inputs():
        value = np.asarray(tensors[graph_input.name])
        if graph_input.type == "tensor(string)":
            value = np.array([v.decode() if isinstance(v, bytes) else str(v)
                              for v in value.ravel()], dtype=np.object_).reshape(value.shape)
        out[graph_input.name] = value.astype(_DTYPES[graph_input.type], copy=False)
    return out
