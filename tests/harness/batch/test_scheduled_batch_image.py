"""The scheduled batch scoring's image, run for real: the session's breast-cancer image
(tests/image/podman.py, shared with tests/image/test_image.py), whose spec has `batch.schedule` (the
data stack comes with it), built offline through podman's Docker API; the CronJob's container
command, read from the generated CronJob, run in it as the pod runs it: read-only root file system,
UID 10001, a writable /tmp only, the object store (moto's server on this machine's loopback)
reached over the network, credentials from the environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pyarrow.fs as pafs
import pytest
import yaml

from tests.harness.conftest import BUCKET
from tests.image.podman import BATCH_PREFIX, MLOPS, Built
from tests.projects import ROOT

pytestmark = pytest.mark.slow

RUN_AS = "10001:10001"
JOB_NAME = "breast-cancer-batch-29431200"
AWS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
       "AWS_EC2_METADATA_DISABLED")
"""What batch.secret would hold (envFrom); the s3 fixture sets them for moto's server."""


@pytest.fixture(scope="module")
def built(serving_image: Built, s3: pafs.S3FileSystem) -> Built:
    """The image of a spec scoring s3://BUCKET/image/in/ nightly, with the current split (114
    rows) there; its generated files as `mlops compile` writes them."""
    assert any("monitor" in arg for arg in serving_image.install), serving_image.install
    compiled = subprocess.run([MLOPS, "compile", "--check",
                               str(serving_image.project / "mlops.yaml")],
                              capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    with s3.open_output_stream(f"{BUCKET}/{BATCH_PREFIX}/in/current.csv") as stream:
        stream.write((ROOT / "data" / "current.csv").read_bytes())
    return serving_image


def test_the_cronjobs_command_runs_in_the_image_read_only_as_non_root(
        built: Built, s3: pafs.S3FileSystem) -> None:
    import docker

    cronjob = yaml.safe_load((built.project / "generated" / "k8s" / "batch" / "cronjob.yaml").read_text())
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {name: os.environ[name] for name in AWS} | {"MLOPS_BATCH_RUN": JOB_NAME}
    command = [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m[1]], part)
               for part in container["command"]]  # as the kubelet expands it
    client = docker.DockerClient(base_url=built.docker_host, timeout=300)
    started = time.monotonic()
    running = client.containers.run(
        built.reference, command[1:], entrypoint=command[:1], detach=True,
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
    with s3.open_input_stream(f"{BUCKET}/{BATCH_PREFIX}/out/{JOB_NAME}/_SUCCESS") as stream:
        assert json.loads(stream.read())["rows"] == 114
    print(f"batch image: scheduled run {seconds:.1f} s")
