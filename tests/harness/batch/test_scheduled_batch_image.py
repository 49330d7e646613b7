"""The scheduled batch scoring's image, built and run for real: the generated Dockerfile of a spec
with `batch.schedule` (the data stack comes with it), built offline through podman's Docker API,
then the CronJob's container command, read from the generated CronJob, run in it as the pod runs
it: read-only root file system, UID 10001, a writable /tmp only, the object store (moto's server on
this machine's loopback) reached over the network, credentials from the environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml

from mlops.compiler.targets.docker import image_install
from mlops.core.version import release_version
from mlops.spec.loader import load_spec
from tests.harness.conftest import BUCKET
from tests.projects import ROOT, breast_cancer_project
from tests.tooling import require_tool

pytestmark = pytest.mark.slow

MLOPS = str(ROOT / ".venv" / "bin" / "mlops")
PODMAN = ROOT / "scripts" / "podman"
BASE = "localhost/python-base:3.11"
CACHE = os.environ.get("MLOPS_IMAGE_CACHE", "/var/tmp/mlops-image-cache")
RUN_AS = "10001:10001"
JOB_NAME = "breast-cancer-batch-29431200"
AWS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
       "AWS_EC2_METADATA_DISABLED")
"""What batch.secret would hold (envFrom); the s3 fixture sets them for moto's server."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, s3: pafs.S3FileSystem
          ) -> Iterator[tuple[Path, str, float]]:
    """(project, DOCKER_HOST, build seconds): the image of a spec scoring s3://BUCKET/image/in/
    nightly, with the current split (114 rows) there."""
    for tool in ("podman", "mmdebstrap"):
        require_tool(tool)
    with s3.open_output_stream(f"{BUCKET}/image/in/current.csv") as stream:
        stream.write((ROOT / "data" / "current.csv").read_bytes())
    state = tmp_path_factory.mktemp("podman")
    docker_host = subprocess.run([str(PODMAN / "start-api.sh"), str(state)], check=True,
                                 capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run([str(PODMAN / "base-image.sh"), str(state), BASE, CACHE], check=True,
                       capture_output=True, text=True)
        batch = {"input": f"s3://{BUCKET}/image/in/", "output": f"s3://{BUCKET}/image/out/",
                 "schedule": "30 2 * * *"}
        spec = breast_cancer_project(tmp_path_factory.mktemp("project"),
                                     {"serving.base_image": BASE, "batch": batch}, models=True)
        compiled = subprocess.run([MLOPS, "compile", str(spec)], capture_output=True, text=True,
                                  check=False)
        assert compiled.returncode == 0, compiled.stderr
        install = image_install(load_spec(spec).spec, release_version())
        assert any("monitor" in arg for arg in install.offline), install.offline
        started = time.monotonic()
        subprocess.run([str(PODMAN / "wheelhouse.sh"), str(spec.parent / "wheelhouse"),
                        *install.offline], check=True, capture_output=True, text=True)
        result = subprocess.run([MLOPS, "build", str(spec), "--tag", "batch", "--network", "none"],
                                capture_output=True, text=True, timeout=900,
                                env={**os.environ, "DOCKER_HOST": docker_host})
        assert result.returncode == 0, result.stderr[-3000:]
        yield spec.parent, docker_host, time.monotonic() - started
    finally:
        subprocess.run([str(PODMAN / "stop-api.sh"), str(state)], check=False)


def test_the_cronjobs_command_runs_in_the_image_read_only_as_non_root(
        built: tuple[Path, str, float], s3: pafs.S3FileSystem) -> None:
    import docker

    project, docker_host, build_seconds = built
    cronjob = yaml.safe_load((project / "generated" / "k8s" / "batch" / "cronjob.yaml").read_text())
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {name: os.environ[name] for name in AWS} | {"MLOPS_BATCH_RUN": JOB_NAME}
    command = [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m[1]], part)
               for part in container["command"]]  # as the kubelet expands it
    client = docker.DockerClient(base_url=docker_host, timeout=300)
    started = time.monotonic()
    running = client.containers.run(
        "ghcr.io/acme/breast-cancer:batch", command[1:], entrypoint=command[:1], detach=True,
        network_mode="host", read_only=True, user=RUN_AS, tmpfs={"/tmp": "rw,mode=1777"},
        environment=env)
    try:
        status = running.wait(timeout=300)
        logs = running.logs().decode()
    finally:
        running.remove(force=True)
        client.close()
    seconds = time.monotonic() - started
    assert status["StatusCode"] == 0, logs
    assert "114 rows scored into 1 file(s)" in logs, logs
    with s3.open_input_stream(f"{BUCKET}/image/out/{JOB_NAME}/_SUCCESS") as stream:
        assert json.loads(stream.read())["rows"] == 114
    print(f"batch image: wheelhouse + build {build_seconds:.0f} s, scheduled run {seconds:.1f} s")
