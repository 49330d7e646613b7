"""The model gate on a pipeline with one input per column, strings and nulls: every check feeds
the raw test rows through the model contract, as the server does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from mlops.harness.model.gate import GATE
from tests.core.onnx_models import churn_frame, fitted_column_pipeline
from tests.harness.model_helpers import checks, run
from tests.specs import changed, write_spec

SPEC = {
    "version": 1, "name": "churn",
    "data": {"train": "test.csv", "test": "test.csv", "target": "churned", "schema": {
        "plan": {"dtype": "str", "nullable": True, "allowed": ["basic", "standard", "premium"]},
        "age": {"dtype": "float", "nullable": True, "min": 18, "max": 80},
        "calls": {"dtype": "int", "min": 0, "max": 9},
        "churned": {"dtype": "str", "allowed": ["no", "yes"]},
    }},
    "model": {"task": "binary_classification", "artifact": "model.onnx",
              "source": {"framework": "sklearn", "path": "model.joblib"}, "baseline": None},
    "metrics": {
        "accuracy": ">= 0.5",
        "slices": [{"by": "plan == 'basic'", "metric": "accuracy", "threshold": ">= 0.5"},
                   {"by": "plan in ['standard', 'premium']", "metric": "accuracy",
                    "threshold": ">= 0.5"},
                   {"by": "age >= 50", "metric": "accuracy", "threshold": ">= 0.5"}],
        "group_gaps": [{"column": "plan", "metric": "accuracy", "max_gap": 1.0}],
        "robustness": {"examples": 60, "noise": 0.01, "max_flip_fraction": 0.5, "seed": 0},
    },
    "deploy": {"image": "localhost/churn", "environments": [{"name": "test", "namespace": "test"}]},
}


def project(folder: Path, changes: Mapping[str, Any] | None = None) -> Path:
    pipeline, onnx = fitted_column_pipeline()
    frame, target = churn_frame(rows=200, seed=5)
    frame = frame.assign(churned=target)
    frame.to_csv(folder / "test.csv", index=False)  # "" plan and NaN age are written as empty
    (folder / "model.onnx").write_bytes(onnx)
    joblib.dump(pipeline, folder / "model.joblib")
    return write_spec(folder / "mlops.yaml", changed(SPEC, changes or {}))


def test_strings_and_nulls_pass_every_check(tmp_path: Path) -> None:
    found = checks(run(GATE, project(tmp_path)))
    assert {name: check.status for name, check in found.items()} == {
        "accuracy": "pass",
        "slice[plan == 'basic'].accuracy": "pass",
        "slice[plan in ['standard', 'premium']].accuracy": "pass",
        "slice[age >= 50].accuracy": "pass",
        "group_gap[plan].accuracy": "pass",
        "parity.max_abs_diff": "pass",
        "parity.label_mismatch": "pass",
        "robustness.valid_probabilities": "pass",
        "robustness.batch_invariance": "pass",
        "robustness.noise_flips": "pass",
        "reproducible": "skip",
    }
    assert found["parity.label_mismatch"].observed == 0.0
    groups = found["group_gap[plan].accuracy"].details["groups"]
    assert set(groups) == {"(null)", "basic", "premium", "standard"}  # a null plan is its own group
    rows = found["slice[plan == 'basic'].accuracy"].details["rows"]
    frame, _ = churn_frame(rows=200, seed=5)
    assert rows == int((frame["plan"] == "basic").sum())


def test_categoricals_are_swapped_not_scaled(tmp_path: Path) -> None:
    check = checks(run(GATE, project(tmp_path)))["robustness.noise_flips"]
    assert "±1% noise on 2 numeric feature(s) and another value of plan" in check.message
    keep = {"metrics.robustness.perturb": {"plan": "keep", "age": "keep"}}
    kept = checks(run(GATE, project(tmp_path, keep)))
    assert "±1% noise on 1 numeric feature(s) (" in kept["robustness.noise_flips"].message


@pytest.mark.parametrize(("by", "rows"), [
    ("plan != 'basic'", lambda f: (f["plan"].isin(["standard", "premium"])).sum()),
    ("plan not in ['basic']", lambda f: (f["plan"].isin(["standard", "premium"])).sum()),
    ("age < 30", lambda f: (f["age"] < 30).sum()),
])
def test_nulls_are_in_no_slice(tmp_path: Path, by: str, rows: object) -> None:
    spec = project(tmp_path, {"metrics.slices.2.by": by})
    found = checks(run(GATE, spec))
    frame, _ = churn_frame(rows=200, seed=5)
    expected = int(rows(frame))  # type: ignore[operator]
    assert found[f"slice[{by}].accuracy"].details["rows"] == expected
    assert np.isfinite(found[f"slice[{by}].accuracy"].observed or 0)


def test_parity_feeds_the_native_model_raw_numbers() -> None:
    """The churn example's LightGBM has a split at 44.70000000000001 and a test row at 44.7:
    rounded to float32 first, that row would go the other way in scikit-learn than in ONNX."""
    from mlops.core.columns import concat
    from mlops.harness.model.loading import load_model
    from mlops.harness.model.parity import native_outputs
    from mlops.harness.model.testset import read_chunks
    from mlops.spec.loader import load_spec

    loaded = load_spec(Path(__file__).resolve().parents[3] / "examples/churn/mlops.yaml",
                       check_files=False)
    model = load_model(loaded)
    features = concat([chunk.columns for chunk in read_chunks(loaded, loaded.spec.data.features)])
    native = native_outputs(loaded, model, features).proba
    assert native is not None
    np.testing.assert_allclose(model.predict_proba(features), native, rtol=0, atol=1e-6)
