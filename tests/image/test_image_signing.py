"""serving.verify in the image, as Kubernetes runs it (read-only root, UID 10001): the image built
from a model signed with `mlops sign --key` carries the signature and the public key and serves;
an image built after one byte of the model changed (which `mlops build` warns about) refuses to
start and says why."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mlops.compiler.targets.docker import image_install
from mlops.core.version import release_version
from mlops.spec.loader import load_spec
from tests.image.podman import BASE, wheelhouse
from tests.image.test_image import RUN_AS, _post, _wait_ready
from tests.keys import key_pair
from tests.projects import breast_cancer_project
from tests.serving.serve_helpers import MLOPS, free_port

pytestmark = pytest.mark.slow
IMAGE = "ghcr.io/acme/breast-cancer"


def _build(project: Path, docker_host: str, tag: str) -> tuple[str, str]:
    """Build with `mlops build --quiet`: (the image reference, what it said on stderr)."""
    done = subprocess.run([MLOPS, "build", str(project / "mlops.yaml"), "--tag", tag,
                           "--network", "none", "--quiet"], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "DOCKER_HOST": docker_host})
    assert done.returncode == 0, done.stderr[-3000:]
    return f"{IMAGE}:{tag}", done.stderr


def _run(client: Any, image: str, port: int) -> Any:
    return client.containers.run(
        image, detach=True, network_mode="host", read_only=True, user=RUN_AS,
        tmpfs={"/tmp": "rw,mode=1777", "/var/log/mlops": "rw,mode=1777"},
        environment={"MLOPS_HOST": "127.0.0.1", "MLOPS_PORT": str(port)})


def test_the_image_serves_a_signed_model_and_refuses_a_changed_one(
        podman_host: str, tmp_path: Path, wheel: Path) -> None:
    import docker

    project = tmp_path / "project"
    spec = breast_cancer_project(project, {"serving.base_image": BASE,
                                           "serving.verify": {"public_key": "keys/team.pub"}},
                                 models=True)
    _, public = key_pair(tmp_path / "team", "team")  # the private key stays out of the project
    (project / "keys").mkdir()
    (project / "keys" / "team.pub").write_bytes(public.read_bytes())
    signed = subprocess.run([MLOPS, "sign", str(spec), "--key", str(tmp_path / "team" / "team.pem")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert signed.returncode == 0, signed.stderr
    install = image_install(load_spec(spec).spec, release_version())
    assert any("signing" in arg for arg in install.offline), install.offline
    wheelhouse(project / "wheelhouse", install.offline, wheel)

    client: Any = docker.DockerClient(base_url=podman_host, timeout=120)
    try:
        port = free_port()
        image, said = _build(project, podman_host, "signed")
        assert "warning" not in said, said
        running = _run(client, image, port)
        try:
            _wait_ready(port, running)
            row = _first_row(project)
            status, body = _post(port, "/predict", {"instances": [row]})
            assert status == 200, body
            assert ("signature of models/model.onnx verified: signed by the key keys/team.pub"
                    in running.logs().decode())
        finally:
            running.remove(force=True)

        model = project / "models" / "model.onnx"
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0x01
        model.write_bytes(bytes(data))
        image, said = _build(project, podman_host, "tampered")
        assert ("warning: models/model.onnx: signature models/model.onnx.sig does not match the "
                "file (modified after signing?); the image's server will refuse to start (mlops "
                "sign)") in said.splitlines(), said
        refused = _run(client, image, free_port())
        try:
            deadline = time.monotonic() + 120
            while refused.status in ("created", "running") and time.monotonic() < deadline:
                time.sleep(0.5)
                refused.reload()
            assert refused.wait(timeout=10)["StatusCode"] == 1
            logs = refused.logs().decode()
            assert ("/app/mlops.yaml: cannot serve: models/model.onnx: signature "
                    "models/model.onnx.sig does not match the file (modified after signing?)"
                    in logs.splitlines()), logs
            assert "Traceback" not in logs
        finally:
            refused.remove(force=True)
    finally:
        client.close()


def _first_row(project: Path) -> dict[str, float]:
    with (project / "data" / "test.csv").open() as handle:
        row = next(csv.DictReader(handle))
    return {key: float(value) for key, value in row.items() if key != "label"}
