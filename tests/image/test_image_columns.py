"""The churn example's serving image (one ONNX input per column: strings, nulls, integers), built
offline from the declared source's wheels and run as Kubernetes runs it: read-only root file
system, UID 10001, the request log on a volume. Raw strings and nulls go in through /predict and
through the Open Inference Protocol with tritonclient; the answers equal the model's own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops.compiler.targets.docker import image_install
from mlops.core.columns import from_records
from mlops.core.version import release_version
from mlops.harness.model.loading import load_model
from mlops.spec.loader import LoadedSpec, load_spec
from tests.image.podman import BASE, wheelhouse

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MLOPS = str(ROOT / ".venv" / "bin" / "mlops")
RUN_AS = "10001:10001"
ROWS = [
    {"plan": "basic", "contract": None, "payment_method": "card", "country": "US",
     "tenure_months": 3, "support_calls": 4, "monthly_charges": 29.5, "avg_session_minutes": None},
    {"plan": "premium", "contract": "two-year", "payment_method": None, "country": "DE",
     "tenure_months": 48, "support_calls": 0, "monthly_charges": 99.0, "avg_session_minutes": 35.2},
]


@dataclass(frozen=True)
class Built:
    project: Path
    loaded: LoadedSpec
    docker_host: str
    reference: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, wheel: Path, podman_host: str) -> Built:
    """The churn image, built on the session's podman API."""
    project = tmp_path_factory.mktemp("churn")
    for part in ("models", "data"):
        shutil.copytree(ROOT / "examples" / "churn" / part, project / part)
    shutil.copy(ROOT / "examples" / "churn" / "requirements.txt", project)
    spec = project / "mlops.yaml"
    spec.write_text((ROOT / "examples" / "churn" / "mlops.yaml").read_text().replace(
        "\nserving:\n", f"\nserving:\n  base_image: {BASE}\n"))
    loaded = load_spec(spec)
    install = image_install(loaded.spec, release_version())
    wheelhouse(project / "wheelhouse", install.offline, wheel)
    result = subprocess.run(
        [MLOPS, "build", str(spec), "--tag", "test", "--network", "none"],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "DOCKER_HOST": podman_host})
    assert result.returncode == 0, result.stderr[-3000:]
    return Built(project, loaded, podman_host, f"{loaded.spec.deploy.image}:test")


@pytest.fixture(scope="module")
def served(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, int]]:
    import docker

    client = docker.DockerClient(base_url=built.docker_host, timeout=120)
    log_dir = tmp_path_factory.mktemp("requests")
    log_dir.chmod(0o777)
    port = free_port()
    running = client.containers.run(
        built.reference, detach=True, network_mode="host", read_only=True, user=RUN_AS,
        tmpfs={"/tmp": "rw,mode=1777"},
        volumes={str(log_dir): {"bind": "/var/log/mlops", "mode": "rw"}},
        environment={"MLOPS_HOST": "127.0.0.1", "MLOPS_PORT": str(port)})
    try:
        wait_ready(port, running)
        yield running, port
    finally:
        running.remove(force=True)
        client.close()


def free_port() -> int:
    """A free 127.0.0.1 port (released before the container binds it)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(port: int, running: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2):
                return
        except OSError:
            running.reload()
            assert running.status in ("created", "running"), running.logs().decode()[-3000:]
            time.sleep(0.5)
    raise AssertionError(f"not ready after {timeout}s:\n{running.logs().decode()[-3000:]}")


def post(port: int, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def expected(built: Built) -> np.ndarray:
    model = load_model(built.loaded)
    return model.predict_proba(from_records(ROWS, model.contract.columns))


def test_raw_strings_and_nulls_are_served_read_only_as_non_root(
        served: tuple[Any, int], built: Built) -> None:
    running, port = served
    status, body = post(port, {"instances": ROWS})
    assert status == 200, body
    got = np.array([[p["probabilities"]["no"], p["probabilities"]["yes"]]
                    for p in body["predictions"]])
    np.testing.assert_allclose(got, expected(built), rtol=1e-6)
    status, body = post(port, {"instances": [{**ROWS[0], "country": "BR"}]})
    assert (status, body["kind"]) == (422, "schema"), body
    code, out = running.exec_run(["/opt/venv/bin/python", "-c", "open('/app/x', 'w')"])
    assert code != 0 and b"Read-only file system" in out
    code, uid = running.exec_run(["/opt/venv/bin/python", "-c", "import os; print(os.getuid())"])
    assert (code, uid.decode().strip()) == (0, "10001")


def test_tritonclient_sends_one_tensor_per_column(served: tuple[Any, int], built: Built) -> None:
    import tritonclient.http as triton

    _, port = served
    client = triton.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        tensors = []
        for rule in load_model(built.loaded).contract.columns:
            cells = [row[rule.name] for row in ROWS]
            if rule.text:
                values = np.array([[(c or "").encode()] for c in cells], dtype=object)
                tensor = triton.InferInput(rule.name, [len(ROWS), 1], "BYTES")
            elif rule.dtype == "int":
                values = np.array([[c] for c in cells], dtype=np.int64)
                tensor = triton.InferInput(rule.name, [len(ROWS), 1], "INT64")
            else:
                values = np.array([[np.nan if c is None else c] for c in cells], dtype=np.float32)
                tensor = triton.InferInput(rule.name, [len(ROWS), 1], "FP32")
            tensor.set_data_from_numpy(values, binary_data=True)
            tensors.append(tensor)
        result = client.infer(built.loaded.spec.name, tensors,
                              outputs=[triton.InferRequestedOutput("probabilities")])
        np.testing.assert_allclose(result.as_numpy("probabilities"), expected(built), rtol=1e-6)
    finally:
        client.close()
