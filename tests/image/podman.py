"""podman for the image tests: its Docker API with the local base image, an offline wheelhouse,
and the breast-cancer image that the serving image's tests (tests/image/test_image.py) and the
scheduled batch scoring's (tests/harness/batch/test_scheduled_batch_image.py) both run, built by
each module in its own API (tests/conftest.py `podman_host`: a session-wide API failed in podman).

The wheelhouse takes mlops-yaml from the session's wheel of this checkout (the `wheel` fixture)
instead of building it again for every image (scripts/podman/wheelhouse.sh, MLOPS_WHEELS).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlops.compiler.targets.docker import image_install
from mlops.core.version import release_version
from mlops.spec.loader import load_spec
from tests.projects import ROOT, breast_cancer_project
from tests.tooling import require_tool

PODMAN = ROOT / "scripts" / "podman"
BASE = "localhost/python-base:3.11"
CACHE = os.environ.get("MLOPS_IMAGE_CACHE", "/var/tmp/mlops-image-cache")
MLOPS = str(ROOT / ".venv" / "bin" / "mlops")
IGNORED_MIB = 512
"""The size of the file in the project's .venv that the build context must leave out."""
BATCH_PREFIX = "image"
"""The shared image's spec scores s3://BUCKET/image/in/ into s3://BUCKET/image/out/ nightly."""


@contextmanager
def podman_api(state: Path) -> Iterator[str]:
    """podman's Docker API with storage under `state` and the local base image BASE in it; its
    DOCKER_HOST. Stopped afterwards, with nothing of it left mounted under `state`."""
    for tool in ("podman", "mmdebstrap"):
        require_tool(tool)
    docker_host = subprocess.run([str(PODMAN / "start-api.sh"), str(state)], check=True,
                                 capture_output=True, text=True).stdout.strip()
    try:
        subprocess.run([str(PODMAN / "base-image.sh"), str(state), BASE, CACHE], check=True,
                       capture_output=True, text=True)
        yield docker_host
    finally:
        subprocess.run([str(PODMAN / "stop-api.sh"), str(state)], check=False)
        leftover = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                    if line.split()[1].startswith(f"{state}/")]
        assert leftover == [], f"stop-api.sh left mounts behind: {leftover}"


def wheelhouse(out: Path, requirements: Sequence[str], wheel: Path) -> None:
    """scripts/podman/wheelhouse.sh into `out`, mlops-yaml from `wheel`'s folder."""
    subprocess.run([str(PODMAN / "wheelhouse.sh"), str(out), *requirements], check=True,
                   capture_output=True, text=True,
                   env={**os.environ, "MLOPS_WHEELS": str(wheel.parent)})


@dataclass(frozen=True)
class Built:
    project: Path
    docker_host: str
    reference: str
    size_bytes: int
    context_bytes: int
    wheelhouse_bytes: int
    output: str
    install: tuple[str, ...]
    """The requirements the image installs offline."""


def build_serving_image(project: Path, docker_host: str, wheel: Path, bucket: str) -> Built:
    """The breast-cancer image on the local base, logging every request and scoring
    s3://`bucket`/image/in/ nightly (`batch.schedule`), from a project whose .venv (a team's
    virtualenv) the context must leave out."""
    batch = {"input": f"s3://{bucket}/{BATCH_PREFIX}/in/",
             "output": f"s3://{bucket}/{BATCH_PREFIX}/out/", "schedule": "30 2 * * *"}
    spec = breast_cancer_project(project, {"serving.base_image": BASE,
                                           "serving.request_log.sample_rate": 1.0,
                                           "batch": batch}, models=True)
    venv = project / ".venv"
    venv.mkdir()
    with (venv / "big.so").open("wb") as handle:
        handle.truncate(IGNORED_MIB * 2**20)
    install = image_install(load_spec(spec).spec, release_version())
    wheelhouse(project / "wheelhouse", install.offline, wheel)
    result = subprocess.run([MLOPS, "build", str(spec), "--tag", "test", "--network", "none"],
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, "DOCKER_HOST": docker_host})
    assert result.returncode == 0, result.stderr[-3000:]
    size = re.search(r"^size: (\d+) bytes", result.stdout, re.MULTILINE)
    context = re.search(r"^context: (\d+) bytes in \d+ files$", result.stdout, re.MULTILINE)
    assert size and context, result.stdout
    wheels = sum(wheel.stat().st_size for wheel in (project / "wheelhouse").glob("*.whl"))
    return Built(project, docker_host, "ghcr.io/acme/breast-cancer:test", int(size.group(1)),
                 int(context.group(1)), wheels, result.stdout, tuple(install.offline))
