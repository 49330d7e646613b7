"""Small real ONNX models for the contract tests, exported as teams export theirs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

PLANS = ("basic", "standard", "premium")


def churn_frame(rows: int = 120, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A small churn-like table: a string column with nulls (as ""), a float with NaN, an int."""
    generator = np.random.default_rng(seed)
    plan = generator.choice(PLANS, size=rows).astype(object)
    plan[::11] = ""
    age = generator.uniform(18, 80, size=rows)
    age[::7] = np.nan
    calls = generator.integers(0, 10, size=rows)
    churned = np.where((plan == "basic") | (calls > 6), "yes", "no")
    return pd.DataFrame({"plan": plan, "age": age, "calls": calls}), churned


def column_pipeline(zipmap: bool = False) -> bytes:
    """A ColumnTransformer pipeline exported with one input per column (string, float, int)."""
    return fitted_column_pipeline(zipmap)[1]


def fitted_column_pipeline(zipmap: bool = False) -> tuple[Pipeline, bytes]:
    """The scikit-learn pipeline and its ONNX export."""
    frame, target = churn_frame()
    pipeline = Pipeline([
        ("columns", ColumnTransformer([
            ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("numbers", SimpleImputer(), ["age", "calls"]),
        ])),
        ("classifier", LogisticRegression(max_iter=500)),
    ]).fit(frame, target)
    inputs: list[tuple[str, Any]] = [("plan", StringTensorType([None, 1])),
                                     ("age", FloatTensorType([None, 1])),
                                     ("calls", Int64TensorType([None, 1]))]
    options = {id(pipeline): {"zipmap": zipmap}}
    exported = convert_sklearn(pipeline, initial_types=inputs, options=options, target_opset=17)
    return pipeline, bytes(exported.SerializeToString())


def matrix_classifier(features: int = 3) -> bytes:
    """One float input [N, features], probabilities without ZipMap."""
    generator = np.random.default_rng(1)
    rows = generator.normal(size=(80, features)).astype(np.float32)
    labels = (rows[:, 0] > 0).astype(np.int64)
    model = LogisticRegression().fit(rows, labels)
    return bytes(to_onnx(model, rows[:1], options={"zipmap": False},
                         target_opset=17).SerializeToString())


def matrix_regressor(features: int = 2) -> bytes:
    generator = np.random.default_rng(2)
    rows = generator.normal(size=(50, features)).astype(np.float32)
    model = LinearRegression().fit(rows, rows.sum(axis=1))
    return bytes(to_onnx(model, rows[:1], target_opset=17).SerializeToString())
