"""A real S3 API on loopback (moto's server) and a local Ray cluster, one of each per session.

moto is started on a free port and stopped after the session; pyarrow reaches it through the usual
AWS_* environment (set before Ray starts, so its workers inherit it). Ray runs 2 CPUs with a capped
object store: containers often give /dev/shm 64 MB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pyarrow.fs as pafs
import pytest

from tests.tooling import missing, require_tool

BUCKET = "mlops-data"
HINT = "pip install 'mlops-yaml[dev]' (moto[server])"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"moto_server did not answer at {url} within 30 s")


@pytest.fixture(scope="session")
def s3() -> Iterator[pafs.S3FileSystem]:
    """An S3 filesystem on a moto server holding the bucket BUCKET (empty at first)."""
    moto = require_tool("moto_server", HINT)
    port = _free_port()
    process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
                            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                            "AWS_EC2_METADATA_DISABLED": "true"}.items():
            patch.setenv(name, value)
        try:
            _wait_until_up(endpoint, process)
            filesystem = pafs.S3FileSystem(endpoint_override=endpoint, scheme="http",
                                           allow_bucket_creation=True)
            filesystem.create_dir(BUCKET)
            yield filesystem
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def ray_cluster(s3: pafs.S3FileSystem) -> Iterator[Any]:
    """A Ray cluster on this machine, started after the S3 environment is set."""
    try:
        import ray
    except ImportError:
        missing("ray is not installed (pip install 'mlops-yaml[ray]')")
    os.environ.setdefault("RAY_DISABLE_IMPORT_WARNING", "1")
    ray.init(num_cpus=2, object_store_memory=80 * 1024**2, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()
