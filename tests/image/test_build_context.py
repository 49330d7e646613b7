"""The build context holds only what the image needs, whichever builder packs it.

The ignore file is `generated/docker/Dockerfile.dockerignore`: BuildKit and podman/buildah read
`<Dockerfile>.dockerignore` beside the Dockerfile for `-f`, and `mlops build` packs the context
itself with the same rules (the docker SDK alone reads only `<context>/.dockerignore`).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from mlops.compiler.compile import prepare, write
from mlops.serving.image import pack_context
from tests.projects import breast_cancer_project
from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parents[2]
PODMAN = ROOT / "scripts" / "podman"
BIG = 512 * 2**20
EXPECTED = ["data/train.csv", "generated/docker/Dockerfile", "mlops.yaml", "models/model.onnx"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The breast-cancer project, compiled, beside a team's 512 MiB virtualenv and a stray
    secret."""
    write(prepare([breast_cancer_project(tmp_path, models=True)]))
    venv = tmp_path / ".venv" / "lib"
    venv.mkdir(parents=True)
    with (venv / "torch.so").open("wb") as handle:  # sparse: big to a builder, cheap on disk
        handle.truncate(BIG)
    (tmp_path / ".env").write_text("TOKEN=secret\n")
    return tmp_path


def test_mlops_build_packs_only_what_the_ignore_file_keeps(project: Path) -> None:
    from docker.utils.build import exclude_paths

    dockerfile = project / "generated" / "docker" / "Dockerfile"
    # What the SDK sent before: no .dockerignore at the context root, so everything.
    everything = exclude_paths(str(project), [], dockerfile="generated/docker/Dockerfile")
    sent_before = sum(os.path.getsize(project / p) for p in everything if (project / p).is_file())
    context = pack_context(project, dockerfile)
    with tarfile.open(fileobj=context.archive) as packed:
        names = sorted(m.name for m in packed.getmembers() if m.isfile())
    print(f"\nbuild context: {sent_before} bytes before, {context.size_bytes} bytes now")
    assert sent_before > BIG
    assert list(context.files) == names == EXPECTED
    assert context.size_bytes < 256 * 2**10
    assert context.ignore_file == dockerfile.with_name("Dockerfile.dockerignore")


def test_a_wheelhouse_is_sent_when_present(project: Path) -> None:
    (project / "wheelhouse").mkdir()
    (project / "wheelhouse" / "x-1-py3-none-any.whl").write_bytes(b"wheel")
    (project / "wheelhouse" / "notes.txt").write_text("not a wheel")
    context = pack_context(project, project / "generated" / "docker" / "Dockerfile")
    assert "wheelhouse/x-1-py3-none-any.whl" in context.files
    assert "wheelhouse/notes.txt" not in context.files


def test_podman_reads_the_generated_ignore_file(project: Path, tmp_path_factory: pytest.TempPathFactory
                                               ) -> None:
    """A probe Dockerfile at the generated Dockerfile's path copies the whole context: podman sends
    exactly what Dockerfile.dockerignore keeps (a `.dockerignore` there would be read by nothing)."""
    podman = require_tool("podman")
    state = tmp_path_factory.mktemp("pp")  # podman refuses a runroot path over 50 characters
    subprocess.run([str(PODMAN / "start-api.sh"), str(state)], check=True, capture_output=True)
    base = [podman, "--root", str(state / "storage"), "--runroot", str(state / "runroot")]
    env = {**os.environ, "CONTAINERS_CONF": str(state / "containers.conf")}
    try:
        (project / "generated" / "docker" / "Dockerfile").write_text("FROM scratch\nCOPY . /ctx/\n")
        build = subprocess.run([*base, "build", "--quiet", "--network", "none", "--file",
                                "generated/docker/Dockerfile", "--tag", "localhost/probe", "."],
                               cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert build.returncode == 0, build.stderr
        subprocess.run([*base, "create", "--name", "probe", "localhost/probe", "true"], env=env,
                       check=True, capture_output=True)
        exported = subprocess.run([*base, "export", "probe"], env=env, check=True,
                                  capture_output=True, timeout=120).stdout
        files = subprocess.run(["tar", "--list"], input=exported, capture_output=True,
                               check=True).stdout.decode().split()
        # podman reads the Dockerfile on its own; the API needs it inside the context archive.
        shipped = [f for f in EXPECTED if f != "generated/docker/Dockerfile"]
        assert sorted(f.removeprefix("ctx/") for f in files if not f.endswith("/")) == shipped
    finally:
        subprocess.run([str(PODMAN / "stop-api.sh"), str(state)], check=False)
