"""/metrics exports every metric the alert rules use, and concurrent requests share model runs."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np

from mlops.core import telemetry
from tests.serving.serve_helpers import FEATURES, Server, make_project, metric_value


def test_every_declared_metric_is_exported_with_the_model_label(server: Server) -> None:
    server.request("POST", "/predict", {"instances": [dict.fromkeys(FEATURES, 1.0)]})
    text = server.metrics()
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert families == {m.name for m in telemetry.SERVER_METRICS}
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all('model="tiny"' in line for line in samples)
    assert metric_value(text, "mlops_model_ready") == 1
    assert metric_value(text, "mlops_requests_total", endpoint="/predict", status="200") >= 1
    assert metric_value(text, "mlops_feature_value_count", feature="alpha") >= 1
    assert metric_value(text, "mlops_request_duration_seconds_count", endpoint="/predict") >= 1


def _burst(port: int, bodies: list[bytes]) -> list[dict[str, Any]]:
    """Send every request before reading any answer, so they reach the server together."""
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in bodies]
    for connection, body in zip(sockets, bodies, strict=True):
        connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                           b"\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode()
                           + b"\r\n\r\n" + body)
    answers = []
    for connection in sockets:
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
        connection.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), data
        answers.append(json.loads(body))
    return answers


def test_concurrent_requests_are_batched_and_answered_separately(tmp_path: Path) -> None:
    spec = make_project(tmp_path, serving={"max_batch_size": 64, "max_batch_delay_ms": 20})
    server = Server(spec, "--no-access-log")
    try:
        rows = np.random.default_rng(1).normal(size=(48, 4)).round(3)
        bodies = [json.dumps({"instances": [dict(zip(FEATURES, row.tolist(), strict=True))]})
                  .encode() for row in rows]
        answers = _burst(server.port, bodies)
        one_by_one = [server.request("POST", "/predict", body, {"Content-Type": "application/json"})
                      .json()["predictions"] for body in bodies[:8]]
        for batched, alone in zip(answers, one_by_one, strict=False):  # same rows, same answers
            assert batched["predictions"][0]["label"] == alone[0]["label"]
            assert abs(batched["predictions"][0]["probabilities"]["yes"]
                       - alone[0]["probabilities"]["yes"]) < 1e-6
        text = server.metrics()
        runs = metric_value(text, "mlops_batch_rows_count")
        assert metric_value(text, "mlops_batch_rows_sum") == 48 + 8
        assert runs < 48 + 8, "48 simultaneous requests never shared a model run"
    finally:
        assert server.stop() == 0
