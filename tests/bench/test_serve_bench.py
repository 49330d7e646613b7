"""The serving bench's own arithmetic and requests (no peer venv, no load generator)."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.bench_serve import Point, measurements
from bench.serve.cpu import cpu_seconds, descendants
from bench.serve.floor import summary
from bench.serve.load import LoadResult
from bench.serve.tail import report, served, spacings
from bench.serve.workloads import workloads
from mlops.serving.logs import access
from mlops.serving.request_log import sampled


def test_cpu_seconds_count_a_busy_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
                              "while time.process_time() < end: pass\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(child.pid) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in descendants(child.pid)
        assert cpu_seconds(child.pid) >= 0.25
        assert child.pid in descendants(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_every_server_gets_the_same_row_in_its_own_shape() -> None:
    example, churn = workloads(["example", "churn"])
    (single,) = example.v2_body()["inputs"]
    assert (single["name"], single["shape"], single["datatype"]) == ("input", [1, 30], "FP32")
    assert single["data"] == list(example.row.values())
    assert example.bentoml_request() == ("/predict", {"input": [list(example.row.values())]})
    kinds = {i["name"]: (i["shape"], i["datatype"]) for i in churn.v2_body()["inputs"]}
    assert kinds["plan"] == ([1, 1], "BYTES")
    assert kinds["tenure_months"] == ([1, 1], "INT64")
    assert kinds["monthly_charges"] == ([1, 1], "FP32")
    path, body = churn.bentoml_request()
    assert path == "/predict_columns"
    assert body["inputs"]["plan"] == [[churn.row["plan"]]]


def test_a_many_row_request_carries_the_row_once_per_row_in_every_shape() -> None:
    (forest,) = workloads(["forest-64"])
    (single,) = forest.v2_body()["inputs"]
    assert single["shape"] == [64, 30]
    assert single["data"] == list(forest.row.values()) * 64
    assert forest.bentoml_request() == ("/predict", {"input": [list(forest.row.values())] * 64})
    assert forest.predict_body() == {"instances": [forest.row] * 64}
    assert forest.tensors(1) == {"input": [list(forest.row.values())]}


def test_ratios_put_mlops_over_each_peer_and_each_variant_over_today() -> None:
    def point(rps: float, p99: float) -> Point:
        return Point(LoadResult(rps, 1.0, p99, 0, int(rps * 6)), 0.5)

    runs = {("mlops v2", 8): point(3000, 4.0), ("kserve 0.21.0", 8): point(1000, 8.0),
            ("stack granian workers=1", 8): point(4500, 2.0), ("mlops /predict", 8): point(2000, 5.0)}
    figures = {m.name: (m.value, m.target) for m in measurements("example", runs)}
    assert figures["example: mlops v2 / kserve 0.21.0 c=8 req/s ratio"] == (3.0, ">= 1.5")
    assert figures["example: mlops v2 / kserve 0.21.0 c=8 p99 ratio"] == (0.5, "<= 1")
    assert figures["example: stack granian workers=1 / mlops v2 c=8 req/s ratio"] == (1.5, None)
    assert figures["example: kserve 0.21.0 c=8 CPU"] == (0.5, None)
    assert not any("/ mlops /predict" in name for name in figures)


def test_a_binary_v2_body_reaches_the_server_as_the_same_columns_as_json(tmp_path: Path) -> None:
    """The features bench's binary bodies (strings, integers and floats in one request) are what
    the server parses from the JSON body, through the server's own parser."""
    import numpy as np

    from mlops.serving import protocol
    from mlops.serving.app import build_app
    from mlops.serving.config import ServerConfig
    from mlops.spec.loader import load_spec

    (churn,) = workloads(["churn-64"])
    config = ServerConfig.from_spec(load_spec(churn.spec, check_files=False)).with_overrides(
        model=churn.model, request_log_dir=str(tmp_path))
    app = build_app(config, access_log=False)
    try:
        binary, header = churn.v2_binary_body()
        text = json.dumps(churn.v2_body()).encode()
        parsed = [protocol.parse_infer(body, length, app.inputs, app.model.outputs, app.rules)
                  for body, length in ((binary, header), (text, None))]
    finally:
        app.close()
    assert parsed[0].rows == parsed[1].rows == 64
    assert sorted(parsed[0].columns) == sorted(parsed[1].columns) == sorted(churn.row)
    for name in churn.row:  # FP32 tensors: binary carries the float32 the JSON number rounds to
        binary_column, json_column = parsed[0].columns[name], parsed[1].columns[name]
        if json_column.dtype.kind == "f":
            json_column = json_column.astype(np.float32)
        np.testing.assert_array_equal(binary_column, json_column)


def test_the_tail_report_splits_sampled_requests_and_spaces_the_slow_ones(
        capfd: pytest.CaptureFixture[str]) -> None:
    for index in range(130):
        seconds = 0.005 if index % 64 == 63 else 0.001
        access("m", "POST", "/v2/models/m/infer", 200, seconds, f"req-{index}", "127.0.0.1", 64)
    log = capfd.readouterr().out.encode() + b'{"level": "info", "message": "access"}\n'
    requests = served(log)
    assert len(requests) == 130
    assert [request.ms for request in requests[62:65]] == [1.0, 5.0, 1.0]
    assert spacings(requests, 2.0) == Counter({64: 1})
    logged = sum(sampled(f"req-{index}", 0.1) for index in range(130))
    text = report(next(iter(workloads(["example"]))), requests, 0.1, 2.0)
    assert f"sampled by the request log (10%): n={logged} " in text
    assert f"not sampled: n={130 - logged} " in text
    assert "requests over 2.0 ms: 2; most common spacing between them: 64 x1" in text


def test_the_floor_answers_what_the_model_answers_in_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The floor is a measuring stick: fast only because it skips checks, never because it
    computes less (strings, integers and floats in one 64-row request)."""
    import numpy as np

    from bench.serve.onnx_feeds import feeds, open_session

    (churn,) = workloads(["churn-64"])
    monkeypatch.setenv("BENCH_MODEL", str(churn.model))
    monkeypatch.setenv("BENCH_NAME", churn.served_name)
    sys.modules.pop("bench.serve.floor_app", None)
    floor_app = importlib.import_module("bench.serve.floor_app")
    sent: list[dict[str, object]] = []
    body = json.dumps(churn.v2_body()).encode()

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(floor_app.app({"type": "http", "method": "POST", "path": "/infer"}, receive,
                              send))
    assert sent[0]["status"] == 200
    (output,) = json.loads(sent[1]["body"])["outputs"]  # type: ignore[arg-type]
    session = open_session(str(churn.model))
    tensors = {name: np.array(value, dtype=object) for name, value in churn.tensors().items()}
    expected = session.run(["probabilities"], feeds(session, tensors))[0]
    assert output["shape"] == [64, 2]
    np.testing.assert_allclose(np.array(output["data"]).reshape(64, 2), expected, rtol=1e-6)


def test_the_floor_summary_takes_medians_over_rounds_then_ratios() -> None:
    def run(rps: float) -> dict[int, Point]:
        return {1: Point(LoadResult(rps, 1.0, 2.0, 0, int(rps * 6)), 0.5)}

    runs = {"floor": [run(1500), run(900), run(1600)], "mlops": [run(1200), run(1300), run(600)],
            "mlserver": [run(800), run(900), run(1000)]}
    text = summary("forest-64", runs, [1])
    assert "floor 1,500 req/s (p99 2 ms, 0.50 CPU s/1k; rounds 1,500, 900, 1,600)" in text
    assert "medians: mlops / mlserver 1.33x, floor / mlserver 1.67x; mlops / floor 0.80x" in text
