"""Start-up, SIGTERM drain, several workers, and the sampled request log, on real processes."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.serving.serve_helpers import FEATURES, Server, make_project, metric_value
from tests.specs import REMOVE, edit_spec, location

ROW = dict(zip(FEATURES, (1.0, 2.0, 0.0, 1.0), strict=True))


def _until(done: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Wait for what the server does in the background: a busy machine takes longer, never forever."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.1)


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_finishes_the_request_in_flight_then_exits_0(tmp_path: Path) -> None:
    server = Server(make_project(tmp_path), "--no-access-log")
    body = json.dumps({"instances": [ROW]}).encode()
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Expect: 100-continue\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    # The server asks for the body when the handler starts reading it: the request is in flight.
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):
        interim += connection.recv(1)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    connection.sendall(body[:10])
    server.process.terminate()  # SIGTERM while the body is half sent
    _until(lambda: _refuses_connections(server.port), "no new connections while draining")
    assert server.process.poll() is None, "exited before finishing the request in flight"
    connection.sendall(body[10:])
    answer = b""
    while chunk := connection.recv(65536):  # the server closes the connection after answering
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b'"label":"yes"' in answer
    assert server.process.wait(30) == 0


def test_a_model_that_breaks_the_contract_is_refused_at_start(tmp_path: Path) -> None:
    spec = edit_spec(make_project(tmp_path), {"data.schema.delta": REMOVE})
    with pytest.raises(AssertionError, match="exited 1") as failure:
        Server(spec)
    where = location(spec.read_text(), "data.schema")
    assert (f"{spec}:{where}: data.schema: models/model.onnx takes one input 'X' (float [?, 4]): "
            "4 features, but data.schema declares 3 (every column but the target, in input order)"
            in str(failure.value))
    assert "Traceback" not in str(failure.value)


def test_two_workers_report_merged_metrics(tmp_path: Path) -> None:
    server = Server(make_project(tmp_path, serving={"workers": 2}), "--no-access-log")
    try:
        for _ in range(20):
            assert server.request("POST", "/predict", {"instances": [ROW]}).status == 200
        scrapes: list[str] = []  # each worker publishes its snapshot for the other every second

        def merged() -> bool:
            scrapes.append(server.metrics())
            return metric_value(scrapes[-1], "mlops_requests_total", endpoint="/predict",
                                status="200") == 20

        _until(merged, "both workers' requests in one /metrics")
        text = scrapes[-1]
        assert metric_value(text, "mlops_feature_value_count", feature="beta") == 20
        assert metric_value(text, "mlops_feature_value_sum", feature="beta") == 40
        assert metric_value(text, "mlops_model_ready") == 1
    finally:
        assert server.stop() == 0


def test_request_log_jsonl_rows_join_on_request_id(tmp_path: Path) -> None:
    logs = tmp_path / "requests"
    spec = make_project(tmp_path, serving={"request_log": {"path": str(logs), "sample_rate": 1.0}})
    server = Server(spec, "--no-access-log")
    reply = server.request("POST", "/predict", {"instances": [ROW, {**ROW, "alpha": -3.0}]},
                           {"X-Request-ID": "req-1"})
    assert server.stop() == 0
    rows = [json.loads(line) for path in sorted(logs.glob("*.jsonl"))
            for line in path.read_text().splitlines()]
    assert [(r["request_id"], r["row"], r["alpha"]) for r in rows] == [("req-1", 0, 1.0),
                                                                       ("req-1", 1, -3.0)]
    predictions = reply.json()["predictions"]
    assert [r["prediction"] for r in rows] == [p["label"] for p in predictions]
    assert rows[0]["score"] == pytest.approx(predictions[0]["probabilities"]["yes"], abs=1e-6)
    assert set(rows[0]) == {"timestamp", "request_id", "model", "model_digest", "row", *FEATURES,
                            "prediction", "score", "variant"}
    assert rows[0]["variant"] == "champion"


def test_request_log_parquet_rotates(tmp_path: Path) -> None:
    logs = tmp_path / "requests"
    spec = make_project(tmp_path, serving={"max_body_bytes": 4000000, "request_log": {
        "path": str(logs), "sample_rate": 1.0, "format": "parquet", "rotate_mb": 1}})
    server = Server(spec, "--no-access-log")
    values = np.random.default_rng(0).normal(size=(10_000, 4))  # random: compresses badly
    batch = {"instances": [dict(zip(FEATURES, row, strict=True)) for row in values.tolist()]}
    for _ in range(4):
        before = _parquet_bytes(logs)
        assert server.request("POST", "/predict", batch).status == 200
        # One flush (row group) a second, and rotation is checked per flush: each batch in its own.
        _until(lambda size=before: _parquet_bytes(logs) > size, "the batch written")
    assert server.stop() == 0
    files = sorted(logs.glob("*.parquet"))
    assert len(files) >= 2, files
    table = pq.read_table(files)  # every file is complete and readable after shutdown
    assert table.num_rows == 40_000
    assert table.column_names[:5] == ["timestamp", "request_id", "model", "model_digest", "row"]


def _parquet_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.parquet"))
