"""`mlops init` measures the model in the model gate's one pass over the test split (issue #14):
robustness draws its rows from the gate's bounded row sample, and the spec's comment says how many
rows that was when the split is larger than the sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.harness.init import measure
from mlops.harness.init.infer import InitRequest, infer_spec
from mlops.harness.model import sample
from tests.functional.test_init_cli import example_project


def test_robustness_names_the_sample_it_was_drawn_from(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sample, "SAMPLE_ROWS", 300)
    monkeypatch.setattr(measure, "TIMING_BUDGET_S", 0.01)
    project = example_project(tmp_path / "churn", "churn")
    data = project / "data"
    result = infer_spec(InitRequest(spec_path=project / "mlops.yaml", data=data / "train.csv",
                                    test=data / "test.csv", current=data / "current.csv",
                                    model=project / "models" / "model.onnx", target="churned"))
    lines = result.text.splitlines()
    robustness = lines.index("  robustness:")
    assert lines[robustness + 1] == (
        "    # Measured on 300 of the 1,000 test rows, sampled as the model gate samples them.")
    assert "measured on the test split (1,000 rows): " in "\n".join(result.summary)
