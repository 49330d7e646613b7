"""A model with one input per column (strings, nulls, ints), served as a client sends raw values:
/predict, v2 JSON with BYTES, tritonclient with binary BYTES; data.schema enforced per request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton

from mlops.core.columns import from_records
from mlops.core.contract import ColumnRule
from mlops.core.runtime import OnnxModel
from tests.core.onnx_models import column_pipeline
from tests.serving.serve_helpers import Server, metric_value

SPEC = """version: 1
name: churn
data:
  train: data.csv
  test: data.csv
  target: churned
  schema:
    plan: {{dtype: str, nullable: true, allowed: [basic, standard, premium]}}
    age: {{dtype: float, nullable: true, min: 18, max: 100}}
    calls: {{dtype: int, min: 0}}
    churned: {{dtype: str, allowed: ["no", "yes"]}}
model:
  task: binary_classification
  artifact: model.onnx
  output: probabilities
deploy:
  image: localhost/churn
  environments: [{{name: test, namespace: test}}]
serving:
  on_schema_violation: {mode}
  request_log: {{path: {log}, sample_rate: 1.0}}
"""
RULES = [ColumnRule("plan", "str", nullable=True), ColumnRule("age", "float", nullable=True),
         ColumnRule("calls", "int")]
ROWS = [{"plan": "basic", "age": 30.5, "calls": 1}, {"plan": None, "age": None, "calls": 8},
        {"plan": "premium", "age": 64.0, "calls": 0}]
INFER = "/v2/models/churn/infer"


def start(root: Path, mode: str) -> Server:
    (root / "model.onnx").write_bytes(column_pipeline())
    (root / "data.csv").write_text("plan,age,calls,churned\nbasic,30,1,no\n")
    spec = root / "mlops.yaml"
    spec.write_text(SPEC.format(mode=mode, log=root / "requests"))
    return Server(spec, "--no-access-log")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start(tmp_path_factory.mktemp("columns"), "reject")
    yield running
    assert running.stop() == 0, running.output()


def expected(rows: list[dict[str, object]]) -> np.ndarray:
    model = OnnxModel(column_pipeline(), RULES, "binary_classification")
    return model.predict_proba(from_records(rows, RULES))


def probabilities(reply: object) -> np.ndarray:
    body = reply.json()  # type: ignore[attr-defined]
    return np.array([[p["probabilities"]["no"], p["probabilities"]["yes"]]
                     for p in body["predictions"]])


def test_raw_strings_and_nulls_are_served(server: Server) -> None:
    reply = server.request("POST", "/predict", {"instances": ROWS})
    assert reply.status == 200, reply.body
    np.testing.assert_allclose(probabilities(reply), expected(ROWS), rtol=1e-6)
    metadata = server.request("GET", "/v2/models/churn").json()
    assert metadata["inputs"] == [{"name": "plan", "datatype": "BYTES", "shape": [-1, 1]},
                                  {"name": "age", "datatype": "FP32", "shape": [-1, 1]},
                                  {"name": "calls", "datatype": "INT64", "shape": [-1, 1]}]
    assert metadata["parameters"]["labels"] == ["no", "yes"]


def test_v2_json_takes_one_tensor_per_input_with_nulls(server: Server) -> None:
    reply = server.request("POST", INFER, {"inputs": [
        {"name": "age", "shape": [3, 1], "datatype": "FP64", "data": [30.5, None, 64.0]},
        {"name": "plan", "shape": [3], "datatype": "BYTES", "data": ["basic", None, "premium"]},
        {"name": "calls", "shape": [3, 1], "datatype": "INT64", "data": [[1], [8], [0]]},
    ], "outputs": [{"name": "probabilities"}, {"name": "label"}]})
    assert reply.status == 200, reply.body
    outputs = {o["name"]: o for o in reply.json()["outputs"]}
    got = np.array(outputs["probabilities"]["data"]).reshape(3, 2)
    np.testing.assert_allclose(got, expected(ROWS), rtol=1e-6)
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["label"]["data"] == [["no", "yes"][i] for i in got.argmax(axis=1)]


def test_tritonclient_sends_binary_bytes(server: Server) -> None:
    client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
    try:
        inputs = []
        for name, datatype, values in (
                ("plan", "BYTES", np.array([[b"basic"], [b""], [b"premium"]], dtype=object)),
                ("age", "FP32", np.array([[30.5], [np.nan], [64.0]], dtype=np.float32)),
                ("calls", "INT64", np.array([[1], [8], [0]], dtype=np.int64))):
            tensor = triton.InferInput(name, list(values.shape), datatype)
            tensor.set_data_from_numpy(values, binary_data=True)
            inputs.append(tensor)
        result = client.infer("churn", inputs, outputs=[
            triton.InferRequestedOutput("probabilities", binary_data=True),
            triton.InferRequestedOutput("label", binary_data=True)])
        np.testing.assert_allclose(result.as_numpy("probabilities"), expected(ROWS), rtol=1e-6)
        labels = result.as_numpy("label")
        assert [v.decode() if isinstance(v, bytes) else v for v in labels.ravel()] == [
            ["no", "yes"][i] for i in expected(ROWS).argmax(axis=1)]
    finally:
        client.close()


@pytest.mark.parametrize(("row", "message"), [
    ({"plan": "platinum", "age": 30, "calls": 1},
     "instances[0]: feature 'plan' is 'platinum', not one of the allowed values 'basic', "
     "'standard', 'premium'"),
    ({"plan": "basic", "age": 12, "calls": 1},
     "instances[0]: feature 'age' is 12, below the minimum 18 (data.schema.age.min)"),
    ({"plan": "basic", "age": 30, "calls": None},
     "instances[0]: feature 'calls' is missing (null or NaN), but data.schema.calls is not "
     "nullable"),
    ({"plan": 3, "age": 30, "calls": 1},
     "instances[0]: feature 'plan' must be a string (dtype str), got the number 3"),
    ({"plan": "basic", "age": 30, "calls": 2.5},
     "instances[0]: feature 'calls' must be an integer (dtype int), got the number 2.5"),
])
def test_values_outside_the_schema_get_422(server: Server, row: dict[str, object],
                                           message: str) -> None:
    reply = server.request("POST", "/predict", {"instances": [row]})
    assert (reply.status, reply.json()) == (422, {"error": message, "kind": "schema"})


def test_v2_schema_errors_name_the_row(server: Server) -> None:
    reply = server.request("POST", INFER, {"inputs": [
        {"name": "plan", "shape": [2, 1], "datatype": "BYTES", "data": ["basic", "gold"]},
        {"name": "age", "shape": [2, 1], "datatype": "FP32", "data": [30, 40]},
        {"name": "calls", "shape": [2, 1], "datatype": "FP32", "data": [1, 1.5]}]})
    assert reply.json() == {"error": "row 1, feature 'calls' must be an integer (dtype int), got "
                                     "the number 1.5", "kind": "schema"}
    reply = server.request("POST", INFER, {"inputs": [
        {"name": "plan", "shape": [1, 1], "datatype": "FP32", "data": [1]}]})
    assert reply.json()["error"] == ("'inputs' must list one tensor per model input (plan, age, "
                                     "calls), got 1 tensors")


def test_log_mode_answers_and_counts_violations(tmp_path: Path) -> None:
    server = start(tmp_path, "log")
    try:
        outside = {"plan": "platinum", "age": 130, "calls": 1}
        assert server.request("POST", "/predict", {"instances": [outside, ROWS[0]]}).status == 200
        missing_int = {"plan": "basic", "age": 30, "calls": None}
        assert server.request("POST", "/predict", {"instances": [missing_int]}).status == 422
        metrics = server.metrics()
        assert metric_value(metrics, "mlops_schema_violations_total", feature="plan",
                            rule="allowed") == 1
        assert metric_value(metrics, "mlops_schema_violations_total", feature="age",
                            rule="max") == 1
        assert metric_value(metrics, "mlops_schema_violations_total", feature="calls",
                            rule="nullable") == 1
    finally:
        assert server.stop() == 0
    logged = [json.loads(line) for path in sorted((tmp_path / "requests").glob("*.jsonl"))
              for line in path.read_text().splitlines()]
    assert [(r["plan"], r["age"], r["calls"]) for r in logged] == [("platinum", 130, 1),
                                                                  ("basic", 30.5, 1)]
