"""A real Prometheus scrapes the real server under load with the generated rules loaded.

The spec is the root example with a 20 ms p95 latency alert held for 1s. A deliberately slow ONNX
model (a [768, 768] outer product then a MatMul per row: about a GFLOP) makes MlopsLatencyHigh fire,
read back from Prometheus's API; the real model under the same load leaves it silent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "monitor"))
from monitor_helpers import MLOPS, ROOT, data_rows
from serve_helpers import Server, free_port
from tooling import require_tool

pytestmark = [pytest.mark.slow, pytest.mark.tools]


@pytest.fixture(autouse=True)
def _tools() -> None:
    """Prometheus and hey from Debian (`make tools`); missing under CI=true is a failure."""
    require_tool("prometheus")
    require_tool("hey")
ALERT = "MlopsLatencyHigh"
PREDICT_RATE = ('sum(rate(mlops_request_duration_seconds_count{model="breast-cancer",'
                'endpoint="/predict"}[5m]))')
P95 = ('histogram_quantile(0.95, sum by (le) (rate('
       'mlops_request_duration_seconds_bucket{model="breast-cancer"}[5m])))')


def _project(tmp: Path) -> Path:
    for folder in ("data", "models"):
        (tmp / folder).symlink_to(ROOT / folder)
    text = (ROOT / "mlops.yaml").read_text()
    for old, new in (("  latency: {p95_ms: 50}", "  latency: {p95_ms: 20, for: 1s}"),
                     ("  max_batch_size: 32", "  max_batch_size: 1")):
        assert old in text
        text = text.replace(old, new)
    spec = tmp / "mlops.yaml"
    spec.write_text(text)
    compiled = subprocess.run([MLOPS, "compile", str(spec)], capture_output=True, text=True,
                              cwd=tmp, timeout=120)
    assert compiled.returncode == 0, compiled.stderr
    return spec


def _slow_model(path: Path, width: int = 30, size: int = 768) -> Path:
    """probabilities = softmax(mean(outer(xW1, xW1) @ W2) @ W3): ~2*size^3 FLOPs per row."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) / 100).astype(np.float32), name)

    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Unsqueeze", ["h", "axis2"], ["column"]),
        helper.make_node("Unsqueeze", ["h", "axis1"], ["row"]),
        helper.make_node("MatMul", ["column", "row"], ["outer"]),
        helper.make_node("MatMul", ["outer", "w2"], ["mixed"]),
        helper.make_node("ReduceMean", ["mixed"], ["pooled"], axes=[2], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        [weight("w1", (width, size)), weight("w2", (size, size)), weight("w3", (size, 2)),
         numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
         numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def _prometheus(tmp: Path, rules: Path, target_port: int) -> Iterator[str]:
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}']\n"
        "scrape_configs:\n"
        f"  - {{job_name: mlops, static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]}}\n")
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp / "prometheus.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "prometheus not ready in 30s"
                time.sleep(0.2)
        # Prometheus starts a new target's scrapes up to 5 s after start-up: load before that
        # would never be seen.
        while _get(f"{url}/api/v1/query?query=up")["data"]["result"] == [] or (
                _get(f"{url}/api/v1/query?query=up")["data"]["result"][0]["value"][1] != "1"):
            assert time.monotonic() < deadline, "prometheus never scraped the server"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _load(port: int, seconds: int) -> None:
    row = {k: v for k, v in data_rows("current.csv")[0].items() if k != "label"}
    subprocess.run(["hey", "-z", f"{seconds}s", "-c", "2", "-m", "POST", "-T", "application/json",
                    "-d", json.dumps({"instances": [row]}), f"http://127.0.0.1:{port}/predict"],
                   capture_output=True, check=True, timeout=seconds + 30)


def _latency_alerts(url: str) -> list[dict[str, Any]]:
    alerts = _get(f"{url}/api/v1/alerts")["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == ALERT]


def _value(url: str, query: str) -> float | None:
    result = _get(f"{url}/api/v1/query?query={urllib.parse.quote(query)}")["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _run(tmp: Path, *serve_args: str) -> tuple[float | None, float | None, list[str]]:
    """Serve, scrape, load for 4 s; returns (seconds from load start to firing or None, p95 s,
    states seen). Fails unless Prometheus saw the /predict traffic."""
    spec = _project(tmp)
    server = Server(spec, "--no-access-log", *serve_args)
    try:
        with _prometheus(tmp, tmp / "generated" / "monitoring" / "rules.yaml", server.port) as url:
            started = time.monotonic()
            _load(server.port, 4)
            states: list[str] = []
            fired = None
            while time.monotonic() - started < 14:
                for alert in _latency_alerts(url):
                    states.append(alert["state"])
                    if alert["state"] == "firing" and fired is None:
                        fired = time.monotonic() - started
                if fired is not None:
                    break
                time.sleep(0.5)
            rate = _value(url, PREDICT_RATE)
            assert rate is not None and rate > 0, "prometheus saw no /predict traffic"
            return fired, _value(url, P95), states
    finally:
        assert server.stop() == 0, server.output()


def test_a_clean_run_leaves_the_latency_alert_silent(tmp_path: Path) -> None:
    fired, p95, states = _run(tmp_path)
    assert p95 is not None, "prometheus never scraped the server's latency histogram"
    assert p95 < 0.02
    assert (fired, states) == (None, [])


def test_a_slow_model_makes_the_latency_alert_fire(tmp_path: Path) -> None:
    slow = _slow_model(tmp_path / "slow.onnx")
    fired, p95, states = _run(tmp_path, "--model", str(slow))
    assert fired is not None, f"{ALERT} did not fire; states seen {states}, p95 {p95}"
    assert p95 is not None and p95 > 0.02
