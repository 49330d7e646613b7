"""What this team expects of the churn model beyond its metrics (run by `mlops gate checks`).

The `model` fixture is the ONNX artifact behind mlops's model contract: rows go in as a client
sends them (strings as strings, None for a null), so these checks see what production sees.
Every expectation was checked against the committed model before it was written down.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops.harness.model.predictor import Predictor

AT_RISK = {
    "plan": "basic", "contract": "month-to-month", "payment_method": "invoice", "country": "US",
    "tenure_months": 2, "support_calls": 5, "monthly_charges": 45.0, "avg_session_minutes": 5.0,
}
LOYAL = {
    "plan": "premium", "contract": "two-year", "payment_method": "bank_transfer", "country": "DE",
    "tenure_months": 60, "support_calls": 0, "monthly_charges": 99.0, "avg_session_minutes": 45.0,
}
NULLABLE_TEXT = ("contract", "payment_method")
TOLERANCE = 1e-6


def churn_probability(model: Predictor, rows: Any) -> np.ndarray:
    return model.predict_proba(rows)[:, model.classes.index("yes")]


@pytest.mark.model
@pytest.mark.parametrize(("case", "churns"), [(AT_RISK, True), (LOYAL, False)], ids=["at-risk", "loyal"])
def test_known_customers(model: Predictor, case: dict[str, Any], churns: bool) -> None:
    probability = float(churn_probability(model, case)[0])
    if churns:
        assert probability > 0.9, f"an obvious churner scores {probability:.3f}"
    else:
        assert probability < 0.05, f"a loyal customer scores {probability:.3f}"


@pytest.mark.model
def test_a_null_is_the_placeholder_the_model_was_trained_with(model: Predictor) -> None:
    """train.py fills null strings with "" (the spec's null_value): null and "" are one customer."""
    with_nulls = {**LOYAL, **{name: None for name in NULLABLE_TEXT}, "avg_session_minutes": None}
    with_placeholders = {**with_nulls, **{name: "" for name in NULLABLE_TEXT}}
    both = churn_probability(model, [with_nulls, with_placeholders])
    assert abs(both[0] - both[1]) <= TOLERANCE, f"null {both[0]:.6f} vs \"\" {both[1]:.6f}"
    assert 0.0 <= both[0] <= 1.0


@pytest.mark.model
def test_support_calls_raise_churn_on_average(model: Predictor, test_data: pd.DataFrame) -> None:
    """Every test customer with 0 calls, then with 6: the mean churn probability must rise."""
    calm = churn_probability(model, test_data.assign(support_calls=0)).mean()
    angry = churn_probability(model, test_data.assign(support_calls=6)).mean()
    assert angry > calm + 0.1, f"mean churn {calm:.3f} with 0 calls, {angry:.3f} with 6"


@pytest.mark.model
def test_predicted_churn_share_on_the_current_batch(model: Predictor, current_data: pd.DataFrame) -> None:
    """The share predicted to churn stays within 10 points of the share that did."""
    predicted = float((churn_probability(model, current_data) >= 0.5).mean())
    actual = float((current_data["churned"] == "yes").mean())
    assert abs(predicted - actual) <= 0.1, f"predicted {predicted:.1%} churn, actual {actual:.1%}"
