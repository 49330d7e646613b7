"""What this team expects of the breast-cancer model, beyond its metrics (run by `mlops gate checks`).

Labels: 0 malignant, 1 benign. Every expectation here was checked against the committed model
before it was written down; a retrained model that breaks one fails the release.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.harness.model.predictor import Predictor
from mlops.spec.loader import LoadedSpec

# Larger and more irregular tumours: more of any of these must never look more benign.
MALIGNANCY_SIGNS = ("worst_concave_points", "worst_radius", "worst_perimeter", "worst_area")
STEPS = 8
TOLERANCE = 1e-6  # float32 rounding of a probability near 0 or 1

# Two real rows of data/test.csv whose diagnosis is not in doubt.
BENIGN_CASE = {
    "mean_radius": 8.888, "mean_texture": 14.64, "mean_perimeter": 58.79, "mean_area": 244.0,
    "mean_smoothness": 0.09783, "mean_compactness": 0.1531, "mean_concavity": 0.08606,
    "mean_concave_points": 0.02872, "mean_symmetry": 0.1902, "mean_fractal_dimension": 0.0898,
    "radius_error": 0.5262, "texture_error": 0.8522, "perimeter_error": 3.168, "area_error": 25.44,
    "smoothness_error": 0.01721, "compactness_error": 0.09368, "concavity_error": 0.05671,
    "concave_points_error": 0.01766, "symmetry_error": 0.02541, "fractal_dimension_error": 0.02193,
    "worst_radius": 9.733, "worst_texture": 15.67, "worst_perimeter": 62.56, "worst_area": 284.4,
    "worst_smoothness": 0.1207, "worst_compactness": 0.2436, "worst_concavity": 0.1434,
    "worst_concave_points": 0.04786, "worst_symmetry": 0.2254, "worst_fractal_dimension": 0.1084,
}
MALIGNANT_CASE = {
    "mean_radius": 21.75, "mean_texture": 20.99, "mean_perimeter": 147.3, "mean_area": 1491.0,
    "mean_smoothness": 0.09401, "mean_compactness": 0.1961, "mean_concavity": 0.2195,
    "mean_concave_points": 0.1088, "mean_symmetry": 0.1721, "mean_fractal_dimension": 0.06194,
    "radius_error": 1.167, "texture_error": 1.352, "perimeter_error": 8.867, "area_error": 156.8,
    "smoothness_error": 0.005687, "compactness_error": 0.0496, "concavity_error": 0.06329,
    "concave_points_error": 0.01561, "symmetry_error": 0.01924, "fractal_dimension_error": 0.004614,
    "worst_radius": 28.19, "worst_texture": 28.18, "worst_perimeter": 195.9, "worst_area": 2384.0,
    "worst_smoothness": 0.1272, "worst_compactness": 0.4725, "worst_concavity": 0.5807,
    "worst_concave_points": 0.1841, "worst_symmetry": 0.2833, "worst_fractal_dimension": 0.08858,
}


def benign_probability(model: Predictor, rows: pd.DataFrame | dict[str, float]) -> np.ndarray:
    return model.predict_proba(rows)[:, model.classes.index("benign")]


@pytest.mark.model
@pytest.mark.parametrize("feature", MALIGNANCY_SIGNS)
def test_more_malignancy_signs_never_look_more_benign(
        model: Predictor, test_data: pd.DataFrame, feature: str) -> None:
    """Raise one feature from the test set's lowest to its highest value, every row at once."""
    grid = np.linspace(test_data[feature].min(), test_data[feature].max(), STEPS)
    previous = None
    for value in grid:
        current = benign_probability(model, test_data.assign(**{feature: value}))
        if previous is not None:
            rises = current - previous
            worst = int(np.argmax(rises))
            assert rises[worst] <= TOLERANCE, (
                f"raising {feature} to {value:.4g} made test row {worst} look more benign "
                f"({previous[worst]:.4f} -> {current[worst]:.4f})")
        previous = current


@pytest.mark.model
@pytest.mark.parametrize(("case", "expected"), [(BENIGN_CASE, "benign"),
                                                (MALIGNANT_CASE, "malignant")],
                         ids=["benign", "malignant"])
def test_known_cases(model: Predictor, case: dict[str, float], expected: str) -> None:
    probabilities = model.predict_proba(case)[0]
    predicted = model.classes[int(model.predict(case)[0])]
    assert predicted == expected
    assert probabilities[model.classes.index(expected)] > 0.95


@pytest.mark.model
def test_extreme_but_valid_inputs_give_valid_probabilities(model: Predictor, spec: LoadedSpec) -> None:
    """Every corner of the schema's [min, max] box the model may be sent: no NaN, no nonsense."""
    columns = spec.spec.data.columns
    low = np.array([columns[name].min or 0.0 for name in model.features])
    high = np.array([columns[name].max or 0.0 for name in model.features])
    corners = np.random.default_rng(0).integers(0, 2, size=(256, len(low))).astype(bool)
    rows = np.vstack([low, high, np.where(corners, high, low)])
    probabilities = model.predict_proba(rows)
    assert np.isfinite(probabilities).all()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.model
def test_confident_baseline_answers_still_hold(model: Predictor, baseline_model: Predictor,
                                               test_data: pd.DataFrame) -> None:
    """Where the released model was sure (p > 0.99), the candidate gives the same answer."""
    before = baseline_model.predict_proba(test_data)
    sure = before.max(axis=1) > 0.99
    changed = np.flatnonzero(model.predict(test_data[sure]) != before[sure].argmax(axis=1))
    assert changed.size == 0, f"test rows {changed.tolist()} changed a confident answer"
