"""The model at run time: raw columns (strings, nulls) in, one form of answer out, the same for a
ZipMap or a plain tensor, and the same as the exporting framework."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from mlops.core.columns import from_records, text_array
from mlops.core.contract import ColumnRule
from mlops.core.runtime import FeedError, ModelError, OnnxModel

from .onnx_models import (
    churn_frame,
    column_pipeline,
    fitted_column_pipeline,
    matrix_classifier,
    matrix_regressor,
)

CHURN = [ColumnRule("plan", "str", nullable=True), ColumnRule("age", "float", nullable=True),
         ColumnRule("calls", "int")]
RAW = {"plan": text_array(["basic", None, "premium"]), "age": np.array([30.0, np.nan, 50.0]),
       "calls": np.array([1.0, 8.0, 2.0])}


def test_strings_and_nulls_are_fed_as_the_contract_says() -> None:
    model = OnnxModel(column_pipeline(), CHURN, "binary_classification")
    feed = model.feed(RAW)
    assert feed["plan"].tolist() == [["basic"], [""], ["premium"]]  # null -> null_value ""
    assert feed["age"].dtype == np.float32 and np.isnan(feed["age"][1, 0])
    assert feed["calls"].dtype == np.int64 and feed["calls"].tolist() == [[1], [8], [2]]


def test_a_text_column_of_other_values_is_fed_as_their_text_and_the_raw_column_is_kept() -> None:
    model = OnnxModel(column_pipeline(), CHURN, "binary_classification")
    plan = np.array([7, None, "premium"], dtype=object)
    feed = model.feed({**RAW, "plan": plan})
    assert feed["plan"].tolist() == [["7"], [""], ["premium"]]
    assert plan.tolist() == [7, None, "premium"]
    assert model.feed(RAW)["plan"].tolist() == [["basic"], [""], ["premium"]]
    assert RAW["plan"].tolist() == ["basic", None, "premium"]


def test_answers_match_onnxruntime_on_the_same_tensors_and_zipmap_agrees() -> None:
    data = column_pipeline()
    model = OnnxModel(data, CHURN, "binary_classification")
    direct = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    expected = direct.run(["probabilities"], model.feed(RAW))[0]
    np.testing.assert_allclose(model.predict_proba(RAW), expected, rtol=0, atol=1e-7)
    zipmap = OnnxModel(column_pipeline(zipmap=True), CHURN, "binary_classification")
    np.testing.assert_allclose(zipmap.predict_proba(RAW), expected, rtol=0, atol=1e-6)
    assert model.predict(RAW).tolist() == np.argmax(expected, axis=1).tolist()


def test_the_exporting_pipeline_agrees_on_raw_rows() -> None:
    """Nulls sent raw (None, NaN) give what scikit-learn gives on the frame it was trained on,
    where a missing plan is the placeholder "" and a missing age NaN."""
    pipeline, data = fitted_column_pipeline()
    frame, _ = churn_frame(rows=40, seed=3)
    records = [{"plan": plan or None, "age": None if np.isnan(age) else age, "calls": int(calls)}
               for plan, age, calls in frame.itertuples(index=False)]
    raw = from_records(records, CHURN)
    assert raw["plan"].tolist().count(None) == int((frame["plan"] == "").sum()) > 0
    model = OnnxModel(data, CHURN, "binary_classification")
    np.testing.assert_allclose(model.predict_proba(raw), pipeline.predict_proba(frame), atol=1e-5)


def test_a_null_cannot_reach_an_integer_input() -> None:
    model = OnnxModel(column_pipeline(), CHURN, "binary_classification")
    with pytest.raises(FeedError) as raised:
        model.feed({**RAW, "calls": np.array([1.0, np.nan, 2.0])})
    assert str(raised.value) == ("column 'calls' has missing values, but the model's input "
                                 "'calls' is int64, which cannot hold them")


def test_matrix_models_and_regression() -> None:
    classifier = OnnxModel(matrix_classifier(), [ColumnRule(n, "float") for n in "abc"],
                           "binary_classification")
    columns = {name: np.array([1.0, -1.0]) for name in "abc"}
    assert classifier.feed(columns)["X"].shape == (2, 3)
    assert classifier.predict(columns).tolist() == [1.0, 0.0]
    regressor = OnnxModel(matrix_regressor(), [ColumnRule("x", "float"), ColumnRule("y", "float")],
                          "regression")
    values = regressor.predict({"x": np.array([1.0, 2.0]), "y": np.array([1.0, 0.5])})
    np.testing.assert_allclose(values, [2.0, 2.5], atol=1e-4)
    with pytest.raises(ModelError, match="a regression model has no class probabilities"):
        regressor.predict_proba({"x": np.array([1.0]), "y": np.array([1.0])})


def test_a_model_that_does_not_fit_the_spec_is_a_model_error() -> None:
    with pytest.raises(ModelError) as raised:
        OnnxModel(column_pipeline(), [ColumnRule("plan", "float")], "binary_classification",
                  artifact="models/model.onnx")
    assert str(raised.value).startswith("dtype float, but models/model.onnx's input 'plan' is "
                                        "string [?, 1]")
    with pytest.raises(ModelError, match=r"^models/x.onnx: not a valid ONNX model"):
        OnnxModel(b"garbage", CHURN, "binary_classification", artifact="models/x.onnx")
