"""Breast-cancer projects with the example's model, variants of the model for fault injection, git
baselines, and hand-built ONNX graphs for properties a trained model never breaks.

The clean model is the repository's committed `models/` when present; otherwise it is trained
here with the example's pipeline (StandardScaler -> LogisticRegression), exported by skl2onnx.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import git
import joblib
import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlops.harness.gate import GateOptions
from mlops.harness.result import CheckResult, GateResult
from mlops.spec.loader import load_spec
from tests.projects import ROOT, breast_cancer_project

TARGET = "label"


def project(folder: Path, changes: Mapping[str, Any] | None = None) -> Path:
    """`breast_cancer_project` (with `changes` to the spec) plus the clean model; returns the spec path."""
    spec = breast_cancer_project(folder, changes)
    models = folder / "models"
    models.mkdir(exist_ok=True)
    committed = [ROOT / "models" / name for name in ("model.onnx", "model.joblib")]
    if all(path.is_file() for path in committed):
        for path in committed:
            shutil.copy(path, models / path.name)
    else:
        train(folder)
    return spec


def split(folder: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(folder / "data" / f"{name}.csv")
    return frame.drop(columns=[TARGET]).to_numpy(np.float64), frame[TARGET].to_numpy(np.int64)


def train(folder: Path, *, label_noise: float = 0.0, scaler_in_onnx: bool = True, forest: int = 0) -> None:
    """Fit the example pipeline (or a random forest) and write model.onnx and model.joblib.

    label_noise flips that fraction of training labels (seeded); scaler_in_onnx=False exports only
    the LogisticRegression step, so the ONNX graph lacks the preprocessing the native model has.
    """
    features, labels = split(folder, "train")
    if label_noise:
        flip = np.random.default_rng(0).random(len(labels)) < label_noise
        labels = np.where(flip, 1 - labels, labels)
    if forest:
        model: Any = RandomForestClassifier(n_estimators=forest, random_state=0, n_jobs=1)
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features, labels)
    exported = model if scaler_in_onnx else model.steps[-1][1]
    graph = to_onnx(exported, features[:1].astype(np.float32), options={"zipmap": False})
    models = folder / "models"
    models.mkdir(exist_ok=True)
    (models / "model.onnx").write_bytes(graph.SerializeToString())
    joblib.dump(model, models / "model.joblib")


def commit_all(folder: Path, message: str = "baseline") -> str:
    """Make `folder` a git repository on branch main with everything committed; returns the sha."""
    repo = git.Repo.init(folder, initial_branch="main")
    with repo:
        repo.git.add(A=True)
        repo.index.commit(message)
        return str(repo.head.commit.hexsha)


def run(gate: Any, spec: Path, *, serve_command: str | None = None) -> GateResult:
    result: GateResult = gate.run(load_spec(spec), GateOptions(serve_command=serve_command))
    return result


def checks(result: GateResult) -> dict[str, CheckResult]:
    return {check.name: check for check in result.checks}


def onnx_graph(folder: Path, nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto],
               output_width: int = 2, input_width: int = 30) -> None:  # fmt: skip
    """Write models/model.onnx from nodes reading 'input' and writing 'probabilities'."""
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", input_width])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                       ["batch", output_width])],
        initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "model.onnx").write_bytes(model.SerializeToString())


def tensor(name: str, values: np.ndarray) -> onnx.TensorProto:
    return onnx.numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


def linear_softmax(folder: Path, weights: np.ndarray, bias: np.ndarray) -> None:
    """probabilities = softmax(input @ weights + bias): what a torch Linear+Softmax exports to."""
    onnx_graph(folder, [
        helper.make_node("Gemm", ["input", "W", "B"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ], [tensor("W", weights), tensor("B", bias)], output_width=weights.shape[1],
       input_width=weights.shape[0])  # fmt: skip


def slow_model(folder: Path, layers: int = 100, width: int = 1024) -> None:
    """models/model.onnx as a bigger model: the same inputs and outputs, `layers` dense layers
    more work per row (about 7 ms a row here, batched or not), as a pull request swapping in a
    much heavier model would."""
    first = np.zeros((30, width), dtype=np.float32)
    first[np.arange(30), np.arange(30)] = 1e-3  # features up to 10^4 stay small
    nodes = [helper.make_node("MatMul", ["input", "first"], ["h0"])]
    nodes += [helper.make_node("MatMul", [f"h{i}", "square"], [f"h{i + 1}"]) for i in range(layers)]
    nodes += [helper.make_node("MatMul", [f"h{layers}", "last"], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    onnx_graph(folder, nodes, [tensor("first", first), tensor("square", np.eye(width)),
                               tensor("last", np.full((width, 2), 1e-3))])  # fmt: skip
