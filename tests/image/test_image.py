"""The example's serving image, built and run for real: podman's Docker API, an offline build
(`--network none`, wheels from a wheelhouse), a read-only container bound to 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tooling import require_tool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
from serve_helpers import MLOPS, ROOT, free_port

pytestmark = pytest.mark.slow
PODMAN = ROOT / "scripts" / "podman"
BASE = "localhost/python-base:3.11"
MAX_IMAGE_MIB = 400
CACHE = os.environ.get("MLOPS_IMAGE_CACHE", "/var/tmp/mlops-image-cache")


def _require(*tools: str) -> None:
    for tool in tools:
        require_tool(tool)


@dataclass(frozen=True)
class Built:
    project: Path
    docker_host: str
    reference: str
    size_bytes: int
    output: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    _require("podman", "mmdebstrap")
    state = tmp_path_factory.mktemp("podman")
    docker_host = subprocess.run([str(PODMAN / "start-api.sh"), str(state)], check=True,
                                 capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run([str(PODMAN / "base-image.sh"), str(state), BASE, CACHE], check=True,
                       capture_output=True, text=True)
        project = tmp_path_factory.mktemp("project")
        shutil.copy(ROOT / "mlops.yaml", project / "mlops.yaml")
        shutil.copytree(ROOT / "models", project / "models")
        shutil.copytree(ROOT / "data", project / "data")
        spec = project / "mlops.yaml"  # the example, on the base image this machine can make
        spec.write_text(spec.read_text().replace("\nserving:\n",
                                                 f"\nserving:\n  base_image: {BASE}\n"))
        subprocess.run([str(PODMAN / "wheelhouse.sh"), str(project / "wheelhouse")], check=True,
                       capture_output=True, text=True)
        env = {**os.environ, "DOCKER_HOST": docker_host}
        result = subprocess.run([MLOPS, "build", str(spec), "--tag", "test", "--network", "none"],
                                capture_output=True, text=True, env=env, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        size = re.search(r"^size: (\d+) bytes", result.stdout, re.MULTILINE)
        assert size, result.stdout
        yield Built(project, docker_host, "ghcr.io/acme/breast-cancer:test", int(size.group(1)),
                    result.stdout)
    finally:
        subprocess.run([str(PODMAN / "stop-api.sh"), str(state)], check=False)
        leftover = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                    if line.split()[1].startswith(f"{state}/")]
        assert leftover == [], f"stop-api.sh left mounts behind: {leftover}"


@pytest.fixture(scope="module")
def container(built: Built) -> Iterator[tuple[Any, int]]:
    import docker

    client = docker.DockerClient(base_url=built.docker_host, timeout=120)
    port = free_port()
    running = client.containers.run(
        built.reference, detach=True, network_mode="host", read_only=True,
        tmpfs={"/tmp": "rw,mode=1777", "/var/log/mlops": "rw,mode=1777"},
        environment={"MLOPS_HOST": "127.0.0.1", "MLOPS_PORT": str(port)})
    try:
        _wait_ready(port, running)
        yield running, port
    finally:
        running.remove(force=True)
        client.close()


def _wait_ready(port: int, running: Any, timeout: float = 120) -> None:
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


def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_image_is_small_and_prints_its_id(built: Built) -> None:
    print(f"\nimage {built.reference}: {built.size_bytes / 2**20:.1f} MiB")
    assert f"built {built.reference}" in built.output
    assert re.search(r"^image id: sha256:[0-9a-f]{64}$", built.output, re.MULTILINE)
    assert built.size_bytes < MAX_IMAGE_MIB * 2**20


def test_container_serves_real_predictions_as_non_root(container: tuple[Any, int],
                                                       built: Built) -> None:
    running, port = container
    with (built.project / "data" / "test.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:5]
    instances = [{k: float(v) for k, v in row.items() if k != "label"} for row in rows]
    status, body = _post(port, "/predict", {"instances": instances})
    assert status == 200, body
    assert [p["label"] for p in body["predictions"]] == [
        ["malignant", "benign"][int(row["label"])] for row in rows]  # the example model is right
    status, body = _post(port, "/predict", {"instances": [{"mean_radius": "x"}]})
    assert status == 400 and "missing feature(s)" in body["error"]
    code, uid = running.exec_run(["/opt/venv/bin/python", "-c",
                                  "import os; print(os.stat('/proc/1').st_uid, os.getuid())"])
    assert (code, uid.decode().split()) == (0, ["10001", "10001"])


def test_runtime_has_no_training_or_load_stack(container: tuple[Any, int]) -> None:
    running, _ = container
    code, found = running.exec_run(["/opt/venv/bin/python", "-c", (
        "import importlib.util as u; print([m for m in ('torch', 'sklearn', 'locust', 'pip', "
        "'pandas') if u.find_spec(m)])")])
    assert (code, found.decode().strip()) == (0, "[]")


def test_sigterm_stops_the_container_cleanly(container: tuple[Any, int]) -> None:
    running, _ = container
    running.stop(timeout=30)  # SIGTERM, then SIGKILL only after 30 s
    assert running.wait(timeout=40)["StatusCode"] == 0, running.logs().decode()[-3000:]
    logs = [json.loads(line) for line in running.logs().decode().splitlines()
            if line.startswith("{")]
    assert any(entry.get("event") == "access" and entry["path"] == "/predict" for entry in logs)
