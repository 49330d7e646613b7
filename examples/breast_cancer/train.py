"""Train the example breast-cancer classifier and export it to ONNX (mlops.yaml's `model.train`).

Usage (from the repository root)::

    python examples/breast_cancer/train.py [--data-dir data] [--out-dir models]

Fits ``StandardScaler -> LogisticRegression`` on ``train.csv`` and writes into the output folder:

- ``model.joblib``: the native scikit-learn pipeline (the model gate's ONNX parity reference);
- ``model.onnx``: the served artifact. One float32 input ``input`` [batch, 30] (features in the
  CSV's column order, which prepare_data.py writes in mlops.yaml's schema order), outputs
  ``label`` (int64 [batch]) and ``probabilities`` (float32 [batch, 2], column 1 = benign);
- ``metrics.json``: test-set metrics, for humans (the gates recompute their own).

Reproducible: the solver is deterministic and seeded, and the ONNX graph gets a fixed name
(skl2onnx would otherwise draw a random uuid), so two runs give byte-identical model.onnx.
Defaults are the repository root's ``data/`` and ``models/``, located from this file, so the
script does the same thing whatever the working directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import joblib
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[2]
TARGET = "label"
N_FEATURES = 30
SEED = 0
# ONNX opsets of the export: opset 18 runs on onnxruntime >= 1.14, well below the project's floor.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
GRAPH_NAME = "breast_cancer_logreg"


class DataError(Exception):
    """A missing or malformed data file: reported in one line, without a traceback."""


def read_split(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (every column but the target, in file order) and integer labels of one CSV."""
    if not path.is_file():
        raise DataError(
            f"{path} not found; write the data first with 'python examples/breast_cancer/prepare_data.py'"
        )
    frame = pd.read_csv(path)
    if TARGET not in frame.columns:
        raise DataError(f"{path}: no '{TARGET}' column (columns: {', '.join(frame.columns)})")
    features = frame.drop(columns=[TARGET]).astype(np.float64)
    if features.shape[1] != N_FEATURES:
        raise DataError(f"{path}: expected {N_FEATURES} feature columns, got {features.shape[1]}")
    return features, frame[TARGET].to_numpy(dtype=np.int64)


def build_model() -> Pipeline:
    """Scaling matters for the L2-penalised solver; lbfgs converges well within max_iter."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(max_iter=1000, random_state=SEED)),
        ]
    )


def export_onnx(model: Pipeline, n_features: int) -> onnx.ModelProto:
    """The pipeline as ONNX: input 'input' float32 [None, n], plain probability tensor (no zipmap)."""
    onx: onnx.ModelProto = convert_sklearn(
        model,
        name=GRAPH_NAME,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options={id(model): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    onx.doc_string = (
        "Breast-cancer classifier (StandardScaler + LogisticRegression). Input: the 30 "
        "features of mlops.yaml data.schema, in order. Output probabilities: "
        "[malignant, benign]."
    )
    return onx


def evaluate(model: Pipeline, features: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """Test-set metrics of the native model; positive class 1 (benign), sklearn's encoding."""
    proba = model.predict_proba(features)
    predicted = proba.argmax(axis=1)
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 6),
        "f1": round(float(f1_score(labels, predicted)), 6),
        "roc_auc": round(float(roc_auc_score(labels, proba[:, 1])), 6),
        "log_loss": round(float(log_loss(labels, proba)), 6),
    }


def onnx_max_difference(onx: onnx.ModelProto, model: Pipeline, features: pd.DataFrame) -> float:
    """Largest |onnx - native| probability on `features`: a sanity check printed after export."""
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(["probabilities"], {"input": features.to_numpy(dtype=np.float32)})
    return float(np.abs(np.asarray(outputs[0]) - model.predict_proba(features)).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / "data",
        help="folder with train.csv and test.csv (default: <repo>/data)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=ROOT / "models",
        help="folder for model.joblib, model.onnx, metrics.json (default: <repo>/models)",
    )
    args = parser.parse_args(argv)
    try:
        x_train, y_train = read_split(args.data_dir / "train.csv")
        x_test, y_test = read_split(args.data_dir / "test.csv")
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if list(x_test.columns) != list(x_train.columns):
        print("error: train.csv and test.csv have different feature columns", file=sys.stderr)
        return 1

    model = build_model().fit(x_train, y_train)
    onx = export_onnx(model, x_train.shape[1])
    metrics = evaluate(model, x_test, y_test)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.out_dir / "model.joblib")
    (args.out_dir / "model.onnx").write_bytes(onx.SerializeToString())
    (args.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    print(
        f"trained on {len(y_train)} rows; test ({len(y_test)} rows): "
        + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
    )
    print(
        f"onnx vs sklearn max |probability difference| on test: {onnx_max_difference(onx, model, x_test):.2e}"
    )
    print(f"wrote {args.out_dir / 'model.onnx'}, model.joblib, metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
