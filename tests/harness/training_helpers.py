"""A tiny project that trains its own model, in a git repository of its own, for the
reproducible-training check (`model.reproducible`).

Two trainings: `SKLEARN_TRAINING`, a seeded scikit-learn LogisticRegression exported by skl2onnx,
as a team writes it; and `noisy_training(noise)`, a logistic regression fitted by gradient descent
in numpy and written as an ONNX graph by hand (no scikit-learn import: a second a run instead of
several), whose weights get normal noise of that scale from an unseeded generator (`os.urandom`),
as an unpinned kernel or a forgotten seed would. The data is ignored by git (as DVC-managed data
is), so the check must copy it into its checkout; the candidate is trained here with the one
training runner mlops uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.harness.training import run_training
from tests.projects import make_repository
from tests.specs import spec_yaml

SKLEARN_TRAINING = '''# Fit a seeded LogisticRegression on data/train.csv; export it to models/model.onnx.
import os

import numpy as np
import pandas as pd
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

frame = pd.read_csv("data/train.csv")
features = frame[["a", "b", "c"]].to_numpy(np.float64)
model = LogisticRegression(random_state=0).fit(features, frame["label"])
graph = to_onnx(model, features[:1].astype(np.float32), options={"zipmap": False})
os.makedirs("models", exist_ok=True)
with open("models/model.onnx", "wb") as out:
    out.write(graph.SerializeToString())
'''

NOISY_TRAINING = '''# Fit a logistic regression on data/train.csv by gradient descent, add NOISE to its
# weights (unseeded), and write models/model.onnx: softmax([0, x @ w + b]).
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

NOISE = {noise!r}

table = np.loadtxt("data/train.csv", delimiter=",", skiprows=1)
features, label = table[:, :3], table[:, 3]
weights, bias = np.zeros(3), 0.0
for _ in range(300):
    error = 1 / (1 + np.exp(-(features @ weights + bias))) - label
    weights -= 0.5 * features.T @ error / len(label)
    bias -= 0.5 * float(error.mean())
weights += np.random.default_rng(int.from_bytes(os.urandom(8), "little")).normal(0, NOISE, 3)
matrix = np.stack([np.zeros(3), weights], axis=1).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("Gemm", ["input", "W", "B"], ["logits"]),
     helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)],
    "logistic", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
    [numpy_helper.from_array(matrix, "W"),
     numpy_helper.from_array(np.array([0, bias], dtype=np.float32), "B")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 8
os.makedirs("models", exist_ok=True)
with open("models/model.onnx", "wb") as out:
    out.write(model.SerializeToString())
'''
TEST_ROWS = 40


def tiny_spec(reproducible: Any) -> dict[str, Any]:
    """The project's spec; `reproducible` is model.reproducible (None: not set)."""
    model: dict[str, Any] = {"task": "binary_classification", "artifact": "models/model.onnx",
                             "train": "python train.py", "baseline": None}
    if reproducible is not None:
        model["reproducible"] = reproducible
    column = {"dtype": "float", "min": -10, "max": 10}
    return {
        "version": 1, "name": "tiny",
        "data": {"train": "data/train.csv", "test": "data/test.csv", "target": "label",
                 "schema": {"a": column, "b": column, "c": column,
                            "label": {"dtype": "int", "allowed": [0, 1]}}},
        "model": model,
        "metrics": {"accuracy": ">= 0.6", "robustness": {"examples": 10}},
        "deploy": {"image": "ghcr.io/acme/tiny",
                   "environments": [{"name": "staging", "namespace": "tiny"}]},
    }


def _split(rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3))
    label = (features @ np.array([1.0, -1.0, 0.5]) + rng.normal(0, 0.5, rows) > 0).astype(int)
    frame = pd.DataFrame(features.round(4), columns=["a", "b", "c"]).assign(label=label)
    return frame.to_csv(index=False)


def noisy_training(noise: float) -> str:
    """train.py of the numpy training, with `noise` on its weights (0: deterministic)."""
    return NOISY_TRAINING.format(noise=noise)


def tiny_project(folder: Path, training: str = SKLEARN_TRAINING, *,
                 reproducible: Any = True) -> Path:
    """The project with `training` as train.py, committed in `folder` (with an origin), its
    candidate model trained by `python train.py`; returns the spec path."""
    make_repository(folder, {
        "mlops.yaml": spec_yaml(tiny_spec(reproducible)),
        "train.py": training,
        ".gitignore": "data/\nmodels/\nreports/\n__pycache__/\n",
    })
    (folder / "data").mkdir()
    (folder / "data/train.csv").write_text(_split(120, seed=1))
    (folder / "data/test.csv").write_text(_split(TEST_ROWS, seed=2))
    run = run_training("python train.py", folder)
    assert run.succeeded, run.failure()
    return folder / "mlops.yaml"
