"""Tiny real ONNX models and specs (skl2onnx on small sklearn data), and a real server process."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.specs import write_spec

FEATURES = ("alpha", "beta", "gamma", "delta")


def tiny_spec(name: str, task: str, labels: list[str] | None,
              serving: Mapping[str, Any]) -> dict[str, Any]:
    """A four-feature spec for `task`, served as `serving` says."""
    schema: dict[str, Any] = {feature: {"dtype": "float"} for feature in FEATURES}
    schema["gamma"].update(min=-10, max=10)
    schema["y"] = ({"dtype": "float", "min": 0, "max": 10} if task == "regression"
                   else {"dtype": "int"})
    model: dict[str, Any] = {"task": task, "artifact": "models/model.onnx", "train": "true"}
    if labels:
        model["labels"] = labels
    return {"version": 1, "name": name,
            "data": {"train": "data/train.csv", "test": "data/test.csv", "target": "y",
                     "schema": schema},
            "model": model,
            "deploy": {"image": f"localhost/{name}",
                       "environments": [{"name": "test", "namespace": "test"}]},
            "serving": dict(serving)}


def make_project(root: Path, task: str = "binary_classification", name: str = "tiny",
                 serving: Mapping[str, Any] | None = None) -> Path:
    """Write mlops.yaml + models/model.onnx under root; returns the spec path."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(FEATURES))).astype(np.float32)
    if task == "regression":
        model = LinearRegression().fit(x, 5 + x @ np.array([1.0, 2.0, -1.0, 0.5]))
        labels = None
    else:
        classes = 3 if task == "multiclass_classification" else 2
        y = np.digitize(x[:, 0] + x[:, 1], [-0.5, 0.5][: classes - 1])
        model = LogisticRegression().fit(x, y)
        labels = ["no", "yes"] if classes == 2 else ["low", "mid", "high"]
    onnx = to_onnx(model, x[:1], options={"zipmap": False} if task != "regression" else None,
                   target_opset=17)
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "model.onnx").write_bytes(onnx.SerializeToString())
    return write_spec(root / "mlops.yaml", tiny_spec(name, task, labels, serving or {"port": 8080}))


ROOT = Path(__file__).resolve().parents[2]
MLOPS = str(ROOT / ".venv" / "bin" / "mlops")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """A real `mlops serve` subprocess on a free 127.0.0.1 port."""

    def __init__(self, spec: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = spec.parent / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [MLOPS, "serve", str(spec), "--host", "127.0.0.1", "--port", str(self.port), *args],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, cwd=spec.parent,
            env={**os.environ, **(env or {})})
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{self.output()}")
            try:
                if self.request("GET", "/v2/health/ready").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(self, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        if isinstance(body, dict):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         response.read())
        finally:
            connection.close()

    def metrics(self) -> str:
        return self.request("GET", "/metrics").body.decode()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as Kubernetes does; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"no exit {timeout}s after SIGTERM:\n{self.output()}") from None
        return self.process.returncode


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text, or 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                return float(value)
    return 0.0


def upload_counts(server: Server, labels: str = 'model="tiny",variant="champion"') -> dict[str, float]:
    """The request-log upload metrics of `server`'s /metrics; every one must be exported, zeros
    included."""
    from mlops.core import telemetry

    text = server.metrics()
    values = {}
    for metric in telemetry.UPLOAD_METRICS:
        head = f"{metric.name}{{{labels}}} "
        [line] = [line for line in text.splitlines() if line.startswith(head)]
        values[metric.name] = float(line.removeprefix(head))
    return values
