"""`mlops validate` checks the model contract against the ONNX graph whenever the artifact exists:
a spec that validates never fails a later stage over something validate could have known."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.core.onnx_models import column_pipeline

SPEC = """\
version: 1
name: churn
data:
  train: data.csv
  test: data.csv
  target: churned
  schema:
{columns}
    churned: {{dtype: str, allowed: ["no", "yes"]}}
model:
  task: binary_classification
  artifact: model.onnx
{model_extra}
deploy:
  image: ghcr.io/acme/churn
  environments: [{{name: staging, namespace: ml-staging}}]
"""
GOOD = """\
    plan: {dtype: str, nullable: true}
    age: {dtype: float, nullable: true}
    calls: {dtype: int}"""


def validate(tmp_path: Path, columns: str, model_extra: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "model.onnx").write_bytes(column_pipeline())
    (tmp_path / "data.csv").write_text("plan,age,calls,churned\nbasic,30,1,no\n")
    (tmp_path / "mlops.yaml").write_text(SPEC.format(columns=columns, model_extra=model_extra))
    return subprocess.run([sys.executable, "-m", "mlops", "validate", "mlops.yaml"], cwd=tmp_path,
                          capture_output=True, text=True)


def test_a_multi_input_model_with_strings_and_nulls_validates(tmp_path: Path) -> None:
    result = validate(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr


def test_contract_problems_are_located_in_the_spec(tmp_path: Path) -> None:
    columns = """\
    plan: {dtype: float, nullable: true}
    age: {dtype: float, nullable: true}
    calls: {dtype: int, nullable: true}
    region: {dtype: str}"""
    result = validate(tmp_path, columns, "  labels: [yes, no]")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "mlops.yaml:8:19: data.schema.plan.dtype: dtype float, but model.onnx's input 'plan' is "
        "string [?, 1]; declare it str or category",
        "mlops.yaml:10:35: data.schema.calls.nullable: nullable, but model.onnx's input 'calls' is "
        "int64 [?, 1], which cannot hold a missing value; make the column non-nullable or export "
        "a float input",
        "mlops.yaml:11:13: data.schema.region: column 'region' is not an input of model.onnx (its "
        "inputs: plan, age, calls); remove it from data.schema or export the model with it",
        "mlops.yaml:16:11: model.labels: model.labels [yes, no] differ from the classes the model "
        "declares, in output order: [no, yes]",
    ]


def test_an_output_that_does_not_exist(tmp_path: Path) -> None:
    result = validate(tmp_path, GOOD, "  output: probability")
    assert result.stderr.splitlines() == [
        "mlops.yaml:15:11: model.output: model.onnx has no output 'probability' (its outputs: "
        "label (string [?]), probabilities (float [?, 2]))"]
