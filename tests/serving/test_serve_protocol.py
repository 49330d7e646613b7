"""The Open Inference Protocol v2 and /predict against a real server, checked against onnxruntime
run directly on the same rows, and with tritonclient as a real v2 client."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton

from tests.serving.serve_helpers import FEATURES, Server, make_project

ROWS = np.array([[1, 2, 0, 1], [-1, -2, 0, 1], [0.2, -0.1, 3, -2]], dtype=np.float32)


def direct(spec: Path, rows: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(spec.parent / "models" / "model.onnx"))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": rows}), strict=True))


def instances(rows: np.ndarray) -> dict[str, object]:
    return {"instances": [dict(zip(FEATURES, map(float, row), strict=True)) for row in rows]}


def test_health_and_metadata(server: Server) -> None:
    assert server.request("GET", "/v2/health/live").json() == {"live": True}
    assert server.request("GET", "/v2/health/ready").json() == {"ready": True}
    assert server.request("GET", "/v2/models/tiny/ready").status == 200
    metadata = server.request("GET", "/v2/models/tiny").json()
    assert metadata["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [{"name": "label", "datatype": "INT64", "shape": [-1]},
                                   {"name": "probabilities", "datatype": "FP32",
                                    "shape": [-1, 2]}]
    assert metadata["parameters"]["features"] == list(FEATURES)
    assert server.request("GET", "/v2/models/tiny/versions/1").json() == metadata


def test_predict_matches_onnxruntime(server: Server, binary_project: Path) -> None:
    reply = server.request("POST", "/predict", instances(ROWS), {"X-Request-ID": "abc-123"})
    assert reply.status == 200
    body = reply.json()
    expected = direct(binary_project, ROWS)["probabilities"]
    assert body["model"] == "tiny" and body["request_id"] == "abc-123"
    assert reply.headers["x-request-id"] == "abc-123"
    labels = [p["label"] for p in body["predictions"]]
    assert labels == [["no", "yes"][i] for i in expected.argmax(axis=1)]
    got = np.array([[p["probabilities"]["no"], p["probabilities"]["yes"]]
                    for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT64"])
def test_v2_infer_json(server: Server, binary_project: Path, datatype: str) -> None:
    rows = ROWS.round() if datatype == "INT64" else ROWS
    data = rows.astype(int).ravel().tolist() if datatype == "INT64" else rows.ravel().tolist()
    reply = server.request("POST", "/v2/models/tiny/infer", {
        "id": "r1", "inputs": [{"name": "X", "shape": [3, 4], "datatype": datatype,
                                "data": data}]})
    assert reply.status == 200, reply.body
    body = reply.json()
    expected = direct(binary_project, rows.astype(np.float32))
    assert body["id"] == "r1" and body["model_name"] == "tiny"
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["label"]["datatype"] == "INT64" and outputs["label"]["shape"] == [3]
    assert outputs["label"]["data"] == expected["label"].tolist()
    assert outputs["probabilities"]["shape"] == [3, 2]
    np.testing.assert_allclose(outputs["probabilities"]["data"],
                               expected["probabilities"].ravel(), rtol=1e-6)


def test_v2_nested_data_and_requested_output(server: Server) -> None:
    reply = server.request("POST", "/v2/models/tiny/infer", {
        "inputs": [{"name": "X", "shape": [3, 4], "datatype": "FP32", "data": ROWS.tolist()}],
        "outputs": [{"name": "label"}]})
    assert [o["name"] for o in reply.json()["outputs"]] == ["label"]


def test_tritonclient_speaks_to_the_server(server: Server, binary_project: Path) -> None:
    client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("tiny")
        assert client.get_model_metadata("tiny")["inputs"][0]["name"] == "X"
        expected = direct(binary_project, ROWS)
        for binary in (True, False):  # binary tensor extension, then plain JSON
            tensor = triton.InferInput("X", list(ROWS.shape), "FP32")
            tensor.set_data_from_numpy(ROWS, binary_data=binary)
            result = client.infer("tiny", [tensor], outputs=[
                triton.InferRequestedOutput("probabilities", binary_data=binary),
                triton.InferRequestedOutput("label", binary_data=binary)])
            np.testing.assert_allclose(result.as_numpy("probabilities"),
                                       expected["probabilities"], rtol=1e-6)
            assert result.as_numpy("label").tolist() == expected["label"].tolist()
        tensor = triton.InferInput("X", list(ROWS.shape), "FP32")
        tensor.set_data_from_numpy(ROWS)
        everything = client.infer("tiny", [tensor])  # no outputs named: all of them, binary
        assert everything.as_numpy("label").tolist() == expected["label"].tolist()
        with pytest.raises(triton.InferenceServerException, match="unknown model 'other'"):
            client.get_model_metadata("other")
    finally:
        client.close()


@pytest.mark.parametrize("task", ["multiclass_classification", "regression"])
def test_other_tasks(tmp_path: Path, task: str) -> None:
    spec = make_project(tmp_path, task=task)
    server = Server(spec, "--no-access-log")
    try:
        reply = server.request("POST", "/predict", instances(ROWS))
        assert reply.status == 200, reply.body
        predictions = reply.json()["predictions"]
        expected = direct(spec, ROWS)
        if task == "regression":
            values = [p["value"] for p in predictions]
            np.testing.assert_allclose(values, expected["variable"].ravel(), rtol=1e-5)
            assert server.request("GET", "/v2/models/tiny").json()["parameters"]["labels"] == []
        else:
            assert [p["label"] for p in predictions] == [
                ["low", "mid", "high"][i] for i in expected["probabilities"].argmax(axis=1)]
            assert set(predictions[0]["probabilities"]) == {"low", "mid", "high"}
    finally:
        assert server.stop() == 0
