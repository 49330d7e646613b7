"""Which model answered: every response of every endpoint names the model's version and digest,
`/metrics` has `mlops_model_info`, the request log records the digest and the monitor reads it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton

from mlops.harness.monitor.requestlog import UNRECORDED, read_window
from tests.projects import git
from tests.serving.serve_helpers import FEATURES, MLOPS, Server, make_project, metric_value

ROW = dict(zip(FEATURES, (1.0, 2.0, 0.0, 1.0), strict=True))
INFER = {"inputs": [{"name": "X", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 0, 1]}]}


def _digest(spec: Path) -> str:
    """What the server must report for the model beside `spec`."""
    return "sha256:" + hashlib.sha256((spec.parent / "models" / "model.onnx").read_bytes()).hexdigest()


# (what, method, path, body, headers, expected status): one of every endpoint and error path
EVERY_RESPONSE = [
    ("live", "GET", "/v2/health/live", None, {}, 200),
    ("ready", "GET", "/v2/health/ready", None, {}, 200),
    ("server metadata", "GET", "/v2", None, {}, 200),
    ("model metadata", "GET", "/v2/models/tiny", None, {}, 200),
    ("model ready", "GET", "/v2/models/tiny/ready", None, {}, 200),
    ("metrics", "GET", "/metrics", None, {}, 200),
    ("predict", "POST", "/predict", {"instances": [ROW]}, {}, 200),
    ("infer", "POST", "/v2/models/tiny/infer", INFER, {}, 200),
    ("versioned infer", "POST", "/v2/models/tiny/versions/7/infer", INFER, {}, 200),
    ("malformed JSON", "POST", "/predict", "{", {"Content-Type": "application/json"}, 400),
    ("no route", "GET", "/nowhere", None, {}, 404),
    ("unknown model", "GET", "/v2/models/other", None, {}, 404),
    ("wrong method", "GET", "/predict", None, {}, 405),
    ("body too large", "POST", "/predict", {"instances": [ROW] * 100}, {}, 413),
    ("wrong content type", "POST", "/predict", "x", {"Content-Type": "text/plain"}, 415),
    ("schema violation", "POST", "/predict", {"instances": [{**ROW, "gamma": 99.0}]}, {}, 422),
]


@pytest.mark.parametrize(("what", "method", "path", "body", "headers", "status"), EVERY_RESPONSE,
                         ids=[case[0] for case in EVERY_RESPONSE])
def test_every_response_names_the_model_version_and_digest(
        server: Server, binary_project: Path, what: str, method: str, path: str,
        body: dict[str, object] | str | None, headers: dict[str, str], status: int) -> None:
    reply = server.request(method, path, body, headers)
    digest = _digest(binary_project)
    assert reply.status == status, reply.body
    assert reply.headers["x-model-digest"] == digest
    assert reply.headers["x-model-version"] == digest.removeprefix("sha256:")[:12]


def test_tritonclient_reads_the_model_version(server: Server, binary_project: Path) -> None:
    version = _digest(binary_project).removeprefix("sha256:")[:12]
    client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
    try:
        assert client.get_model_metadata("tiny")["versions"] == [version]
        assert client.get_model_metadata("tiny", model_version=version)["versions"] == [version]
        tensor = triton.InferInput("X", [1, 4], "FP32")
        tensor.set_data_from_numpy(np.array([[1, 2, 0, 1]], dtype=np.float32))
        for asked in ("", version):
            result = client.infer("tiny", [tensor], model_version=asked)
            assert result.get_response()["model_version"] == version
    finally:
        client.close()


def test_the_info_metric_carries_the_version_digest_and_commit(server: Server,
                                                               binary_project: Path) -> None:
    digest = _digest(binary_project)
    lines = [line for line in server.metrics().splitlines() if line.startswith("mlops_model_info")]
    assert lines == [f'mlops_model_info{{model="tiny",variant="champion",version="{digest[7:19]}",'
                     f'digest="{digest}",commit=""}} 1']


def test_a_version_and_commit_from_the_environment_across_two_workers(tmp_path: Path) -> None:
    spec = make_project(tmp_path, serving={"workers": 2})
    server = Server(spec, "--no-access-log", env={"MLOPS_MODEL_VERSION": "2026.11-rc1",
                                                  "MLOPS_GIT_COMMIT": "0123abc"})
    try:
        reply = server.request("POST", "/v2/models/tiny/infer", INFER)
        assert reply.headers["x-model-version"] == "2026.11-rc1"
        assert reply.json()["model_version"] == "2026.11-rc1"
        info = {"model": "tiny", "version": "2026.11-rc1", "digest": _digest(spec),
                "commit": "0123abc"}
        deadline = time.monotonic() + 20  # each worker publishes its snapshot every second
        while len(server.metrics().split("mlops_requests_total{")) < 3:
            assert time.monotonic() < deadline, "both workers' metrics not merged within 20 s"
            time.sleep(0.2)
        assert metric_value(server.metrics(), "mlops_model_info", **info) == 1
    finally:
        assert server.stop() == 0


def test_the_commit_defaults_to_the_head_of_the_spec_repository(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "the model"]):
        git(tmp_path, *command)
    head = git(tmp_path, "rev-parse", "HEAD").strip()
    server = Server(spec, "--no-access-log", env={"MLOPS_GIT_COMMIT": ""})
    try:
        assert metric_value(server.metrics(), "mlops_model_info", commit=head) == 1
    finally:
        assert server.stop() == 0


def test_a_version_that_cannot_be_a_header_is_refused_at_start(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    done = subprocess.run([MLOPS, "serve", str(spec), "--port", "1"], capture_output=True,
                          text=True, env={"MLOPS_MODEL_VERSION": "v 1", "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        f"{spec}: cannot serve: MLOPS_MODEL_VERSION 'v 1' must be 1 to 128 visible ASCII "
        "characters without spaces")


def test_the_request_log_records_the_digest_and_the_monitor_tallies_it(tmp_path: Path) -> None:
    logs = tmp_path / "requests"
    spec = make_project(tmp_path, serving={"request_log": {"path": str(logs), "sample_rate": 1.0}})
    server = Server(spec, "--no-access-log")
    start = time.time() - 1
    assert server.request("POST", "/predict", {"instances": [ROW, ROW]}).status == 200
    assert server.stop() == 0
    rows = [json.loads(line) for path in logs.glob("*.jsonl") for line in path.read_text().splitlines()]
    assert [row["model_digest"] for row in rows] == [_digest(spec)] * 2
    older = {key: value for key, value in rows[0].items() if key != "model_digest"}
    (logs / "requests-tiny-old.jsonl").write_text(json.dumps(older) + "\n")
    window = read_window(logs, start, time.time() + 1, "tiny", FEATURES, [], frozenset())
    assert window.digests == {_digest(spec): 2, UNRECORDED: 1}
    assert window.served_by() == f"{_digest(spec)} (2 rows), unrecorded (1 row)"
