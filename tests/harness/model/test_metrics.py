"""mlops.harness.model.metrics agrees with sklearn.metrics on generated data (hypothesis, fixed derandomized
examples), including ties, absent classes, zero denominators and constant targets."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from mlops.core.catalogue import metrics_for
from mlops.harness.model import metrics as m

settings.register_profile("metrics", derandomize=True, database=None, max_examples=100,
                          deadline=None)  # fmt: skip
PROFILE = settings.get_profile("metrics")


@st.composite
def classification(draw: st.DrawFn, min_classes: int = 2, max_classes: int = 2) -> tuple:
    """(true labels, probabilities) with probabilities drawn from a few values, so ties occur."""
    classes = draw(st.integers(min_classes, max_classes))
    size = draw(st.integers(1, 60))
    truth = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=size, max_size=size)))
    raw = draw(st.lists(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 3.0]),
                                 min_size=classes, max_size=classes),
                        min_size=size, max_size=size))  # fmt: skip
    weights = np.array(raw) + 1e-3
    return truth, weights / weights.sum(axis=1, keepdims=True)


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)


@PROFILE
@given(classification())
def test_binary_metrics_match_sklearn(case: tuple) -> None:
    truth, proba = case
    outputs = m.Outputs(proba=proba)
    predicted = proba.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "accuracy": sk.accuracy_score(truth, predicted),
            "precision": sk.precision_score(truth, predicted, labels=[0, 1], zero_division=0),
            "recall": sk.recall_score(truth, predicted, labels=[0, 1], zero_division=0),
            "f1": sk.f1_score(truth, predicted, labels=[0, 1], zero_division=0),
            "log_loss": sk.log_loss(truth, proba, labels=[0, 1]),
        }
    for name, value in expected.items():
        assert close(m.compute(name, truth, outputs), value), name
    if len(set(truth.tolist())) == 2:
        assert close(m.compute("roc_auc", truth, outputs), sk.roc_auc_score(truth, proba[:, 1]))
    else:
        assert math.isnan(m.compute("roc_auc", truth, outputs))


@PROFILE
@given(classification(min_classes=3, max_classes=5))
def test_multiclass_averages_match_sklearn(case: tuple) -> None:
    truth, proba = case
    outputs = m.Outputs(proba=proba)
    predicted = proba.argmax(axis=1)
    functions = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, function in functions.items():
            for average in ("macro", "weighted"):
                expected = function(truth, predicted, average=average, zero_division=0)
                assert close(m.compute(f"{kind}_{average}", truth, outputs), expected), (
                    kind, average)  # fmt: skip
        labels = list(range(proba.shape[1]))
        assert close(m.compute("log_loss", truth, outputs), sk.log_loss(truth, proba,
                                                                        labels=labels))  # fmt: skip
    matrix = m.confusion_matrix(truth, predicted.astype(np.int64), proba.shape[1])
    assert (matrix == sk.confusion_matrix(truth, predicted, labels=labels)).all()


@PROFILE
@given(
    st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=1, max_size=60),
    st.booleans(),
)
def test_regression_metrics_match_sklearn(pairs: list[tuple[float, float]], constant: bool
                                          ) -> None:  # fmt: skip
    truth = np.array([a for a, _ in pairs])
    if constant:
        truth = np.full_like(truth, truth[0])
    values = np.array([b for _, b in pairs])
    outputs = m.Outputs(values=values)
    assert math.isclose(
        m.compute("rmse", truth, outputs),
        sk.root_mean_squared_error(truth, values),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )
    assert math.isclose(m.compute("mae", truth, outputs), sk.mean_absolute_error(truth, values),
                        rel_tol=1e-9, abs_tol=1e-9)  # fmt: skip
    if len(truth) > 1:
        assert math.isclose(m.compute("r2", truth, outputs), sk.r2_score(truth, values),
                            rel_tol=1e-7, abs_tol=1e-7)  # fmt: skip


def test_names_follow_the_task() -> None:
    assert "roc_auc" not in metrics_for("multiclass_classification")
    assert metrics_for("regression") == ("rmse", "mae", "r2")
    truth = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    values = m.compute_all("binary_classification", truth, m.Outputs(proba=proba))
    assert values["accuracy"] == 0.5 and values["precision"] == 0.5 and values["recall"] == 0.5


def test_a_metric_needs_the_right_outputs() -> None:
    with pytest.raises(ValueError, match="rmse needs regression values"):
        m.compute("rmse", np.array([1.0]), m.Outputs(proba=np.array([[0.5, 0.5]])))
    with pytest.raises(ValueError, match="accuracy needs class probabilities"):
        m.compute("accuracy", np.array([1]), m.Outputs(values=np.array([1.0])))


def test_macro_averages_skip_classes_absent_from_truth_and_predictions() -> None:
    truth = np.array([0, 2, 2, 0])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.6, 0.3, 0.1]])
    predicted = proba.argmax(axis=1)
    outputs = m.Outputs(proba=proba)
    assert close(m.compute("f1_macro", truth, outputs), sk.f1_score(truth, predicted,
                                                                     average="macro"))  # fmt: skip
    assert close(m.compute("recall_macro", truth, outputs), 0.75)
