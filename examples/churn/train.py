"""Train the churn example: LightGBM in a scikit-learn pipeline, exported to ONNX (its spec's `model.train`).

Usage (from any folder; defaults are this example's data/ and models/)::

    python examples/churn/train.py [--data-dir DIR] [--out-dir DIR]

The model is what a team shipping a tabular model writes: a ``ColumnTransformer`` (string columns:
``SimpleImputer`` then ``OneHotEncoder(handle_unknown="ignore")``; float columns: a median
``SimpleImputer``; integer columns as they are) in front of LightGBM's ``LGBMClassifier``. It is
exported with skl2onnx, LightGBM's part converted by onnxmltools. Writes into the output folder:

- ``model.onnx``: the served artifact. ONE GRAPH INPUT PER COLUMN, named exactly as the spec's
  columns, each ``[batch, 1]``: ``plan``, ``contract``, ``payment_method``, ``country`` string;
  ``tenure_months``, ``support_calls`` int64; ``monthly_charges``, ``avg_session_minutes``
  float32. Outputs ``label`` (string [batch]: "no"/"yes") and ``probabilities`` (float32
  [batch, 2], columns in model.labels order: no, yes); no ZipMap, so both are plain tensors;
- ``model.joblib``: the native pipeline (the model gate's ONNX parity reference). It takes a
  DataFrame with the spec's column names, nulls as described below;
- ``metrics.json``: test-set metrics, for humans (the gates recompute their own).

Nulls reach the model exactly as mlops's model contract feeds them to the graph, so training and
serving see the same values:

- a null in a nullable float column is NaN (a float32 input holds it); the median imputer in the
  pipeline replaces it, in scikit-learn and in the ONNX graph alike;
- a null in a nullable string column is the column's placeholder, ``null_value`` in the spec,
  by default the empty string "" (a string tensor cannot hold a null). This script reads null
  string cells as "" BEFORE fitting, and the pipeline's string imputer treats "" as missing
  (``missing_values=""``, replaced by "missing"). So a client's null, "" in a request and an
  empty CSV cell all mean the same. (skl2onnx converts a string imputer only when its missing
  value is a string: an imputer on NaN inside the pipeline could not be exported.)
- integer columns are never null: an int64 input cannot hold one, so the spec declares them
  non-nullable and the server refuses a null there before the model runs.

Reproducible: LightGBM runs single-threaded with ``deterministic=True`` and a fixed seed (no
bagging), and the ONNX graph gets a fixed name and sorted opset imports, so on one machine two runs
write byte-identical model.onnx files. Across machines only the metrics are expected to agree closely.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from lightgbm import LGBMClassifier
from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = Path(__file__).resolve().parent
TARGET = "churned"
LABELS = ["no", "yes"]  # model.labels: the probability columns, in this order
STRING_COLUMNS = ["plan", "contract", "payment_method", "country"]
INT_COLUMNS = ["tenure_months", "support_calls"]
FLOAT_COLUMNS = ["monthly_charges", "avg_session_minutes"]
# The spec's column order (data.schema): the graph's inputs are declared in this order.
FEATURES = ["plan", "contract", "payment_method", "country", "tenure_months", "support_calls",
            "monthly_charges", "avg_session_minutes"]
STRING_NULL = ""  # data.schema.<column>.null_value: the contract's placeholder for a null string
SEED = 0
# ONNX opsets of the export: both run on onnxruntime >= 1.14, well below the project's floor.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
GRAPH_NAME = "churn_lightgbm"


class DataError(Exception):
    """A missing or malformed data file: reported in one line, without a traceback."""


def read_split(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (in FEATURES order, nulls as the contract feeds them) and string labels of a CSV."""
    if not path.is_file():
        raise DataError(
            f"{path} not found; write the data first with 'python examples/churn/prepare_data.py'"
        )
    frame = pd.read_csv(path, dtype={name: object for name in [*STRING_COLUMNS, TARGET]})
    expected = [*FEATURES, TARGET]
    if list(frame.columns) != expected:
        raise DataError(
            f"{path}: expected the columns {', '.join(expected)}, got {', '.join(map(str, frame.columns))}"
        )
    for name in INT_COLUMNS:
        if frame[name].isna().any() or not pd.api.types.is_integer_dtype(frame[name]):
            raise DataError(f"{path}: column {name} must hold integers and no nulls")
    labels = frame[TARGET].to_numpy(dtype=object)
    if not set(labels) <= set(LABELS):
        unknown = sorted(map(str, set(labels) - set(LABELS)))
        raise DataError(f"{path}: {TARGET} must be one of {', '.join(LABELS)}, got {', '.join(unknown)}")
    features = frame[FEATURES].copy()
    features[STRING_COLUMNS] = features[STRING_COLUMNS].fillna(STRING_NULL)
    features[INT_COLUMNS] = features[INT_COLUMNS].astype(np.int64)
    features[FLOAT_COLUMNS] = features[FLOAT_COLUMNS].astype(np.float64)
    return features, labels


def build_model() -> Pipeline:
    """Encoding and imputation live in the pipeline, so the ONNX graph takes raw column values."""
    strings = Pipeline(
        [
            ("impute", SimpleImputer(missing_values=STRING_NULL, strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    columns = ColumnTransformer(
        [
            ("strings", strings, STRING_COLUMNS),
            # Integers pass through: they are never null, and skl2onnx's imputer cannot turn an
            # int64 input into the float median it would fill in.
            ("integers", "passthrough", INT_COLUMNS),
            ("floats", SimpleImputer(strategy="median"), FLOAT_COLUMNS),
        ]
    )
    classifier = LGBMClassifier(
        n_estimators=300,
        learning_rate=0.03,
        num_leaves=7,
        min_child_samples=40,
        random_state=SEED,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    return Pipeline([("columns", columns), ("classify", classifier)])


def input_types() -> list[tuple[str, Any]]:
    """One [batch, 1] graph input per spec column, typed as the contract feeds it."""
    kinds = {
        **{name: StringTensorType([None, 1]) for name in STRING_COLUMNS},
        **{name: Int64TensorType([None, 1]) for name in INT_COLUMNS},
        **{name: FloatTensorType([None, 1]) for name in FLOAT_COLUMNS},
    }
    return [(name, kinds[name]) for name in FEATURES]


def export_onnx(model: Pipeline) -> onnx.ModelProto:
    """The fitted pipeline as one ONNX graph with plain label and probability tensors."""
    update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    onx: onnx.ModelProto = convert_sklearn(
        model,
        name=GRAPH_NAME,
        initial_types=input_types(),
        options={id(model): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    # The converters collect opsets in a set, whose order follows Python's per-process string
    # hashing: sorted by domain, the file no longer depends on PYTHONHASHSEED.
    opsets = sorted((opset.domain, opset.version) for opset in onx.opset_import)
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onx.doc_string = (
        "Subscription churn (ColumnTransformer + LightGBM). Inputs: one [batch, 1] tensor per "
        "column of mlops.yaml data.schema; null strings as \"\", null floats as NaN. Output "
        "probabilities: [no, yes]."
    )
    onnx.checker.check_model(onx)
    return onx


def onnx_feed(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """The graph's inputs for `features`, as the model contract builds them from raw rows."""
    feed: dict[str, np.ndarray] = {}
    for name in FEATURES:
        column = features[[name]].to_numpy()
        if name in STRING_COLUMNS:
            feed[name] = column.astype(object)
        elif name in INT_COLUMNS:
            feed[name] = column.astype(np.int64)
        else:
            feed[name] = column.astype(np.float32)
    return feed


def evaluate(model: Pipeline, features: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """Test-set metrics of the native model; the positive class is "yes" (churned)."""
    proba = model.predict_proba(features)
    predicted = np.asarray(LABELS, dtype=object)[proba.argmax(axis=1)]
    positive = labels == "yes"
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 6),
        "f1": round(float(f1_score(labels, predicted, pos_label="yes")), 6),
        "roc_auc": round(float(roc_auc_score(positive, proba[:, 1])), 6),
        "log_loss": round(float(log_loss(positive, proba[:, 1])), 6),
    }


def onnx_max_difference(onx: onnx.ModelProto, model: Pipeline, features: pd.DataFrame) -> float:
    """Largest |onnx - native| probability on `features`: a sanity check printed after export."""
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], onnx_feed(features))
    return float(np.abs(np.asarray(probabilities) - model.predict_proba(features)).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=HERE / "data",
        help="folder with train.csv and test.csv (default: examples/churn/data)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=HERE / "models",
        help="folder for model.joblib, model.onnx, metrics.json (default: examples/churn/models)",
    )
    args = parser.parse_args(argv)
    try:
        x_train, y_train = read_split(args.data_dir / "train.csv")
        x_test, y_test = read_split(args.data_dir / "test.csv")
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    started = time.perf_counter()
    model = build_model().fit(x_train, y_train)
    seconds = time.perf_counter() - started
    if list(model.classes_) != LABELS:
        print(f"error: the classifier learned classes {list(model.classes_)}, expected {LABELS}",
              file=sys.stderr)
        return 1
    onx = export_onnx(model)
    metrics = evaluate(model, x_test, y_test)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.out_dir / "model.joblib")
    (args.out_dir / "model.onnx").write_bytes(onx.SerializeToString())
    (args.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    print(
        f"trained on {len(y_train)} rows in {seconds:.1f} s; test ({len(y_test)} rows): "
        + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
    )
    print(
        f"onnx vs native max |probability difference| on test: "
        f"{onnx_max_difference(onx, model, x_test):.2e}"
    )
    print(f"wrote {args.out_dir / 'model.onnx'}, model.joblib, metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
