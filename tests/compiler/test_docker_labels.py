"""The image's labels: fixed by the spec in the Dockerfile, the rest from build arguments that
`mlops build` computes and the release workflow passes, so the generated files never go stale."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from mlops.compiler.targets.docker import BUILD_ARGS
from mlops.core.version import release_version
from mlops.serving.image import BuildError, build_args
from mlops.spec.loader import load_spec
from tests.compiler.compiler_helpers import find_tool, run_tool
from tests.projects import breast_cancer_project, git, make_repository
from tests.serving.serve_helpers import MLOPS
from tests.specs import breast_cancer, changed, write_spec


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _compile(folder: Path, changes: dict[str, object] | None = None) -> Path:
    spec = write_spec(folder / "mlops.yaml", changed(breast_cancer(), changes or {}))
    subprocess.run([MLOPS, "compile", str(spec)], check=True, capture_output=True)
    return folder


def test_the_dockerfile_labels_the_image_from_the_spec_and_build_arguments(
        tmp_path: Path) -> None:
    text = (_compile(tmp_path) / "generated" / "docker" / "Dockerfile").read_text()
    runtime = text.split("\nFROM ", 2)[2]
    assert f'ARG {" ".join(f"{arg}=" + chr(34) * 2 for arg in BUILD_ARGS)}\n' in runtime
    labels = dict(re.findall(r'^(?:LABEL)?\s+([a-z.]+)="(.*)"(?: \\)?$', runtime, re.MULTILINE))
    assert labels == {
        "org.opencontainers.image.title": "breast-cancer",
        "org.opencontainers.image.source": breast_cancer()["deploy"]["repository"],
        "org.opencontainers.image.base.name": load_spec(tmp_path / "mlops.yaml",
                                                        check_files=False).spec.serving.base_image,
        "mlops.model.name": "breast-cancer",
        "mlops.tool.version": release_version(),
        "org.opencontainers.image.revision": "${REVISION}",
        "org.opencontainers.image.version": "${MODEL_VERSION}",
        "mlops.model.digest": "${MODEL_DIGEST}",
        "mlops.spec.digest": "${SPEC_DIGEST}",
        "mlops.data.digests": "${DATA_DIGESTS}",
    }
    assert "ENV MLOPS_MODEL_VERSION=${MODEL_VERSION} \\\n    MLOPS_GIT_COMMIT=${REVISION}\n" in runtime


def test_quotes_and_dollars_in_a_label_stay_literal(tmp_path: Path) -> None:
    text = (_compile(tmp_path, {"deploy.repository": 'https://example.com/"a"/$HOME\\x'})
            / "generated" / "docker" / "Dockerfile").read_text()
    assert ('org.opencontainers.image.source="https://example.com/\\"a\\"/\\$HOME\\\\x" \\\n'
            in text)
    hadolint = find_tool("hadolint", "run `make tools`")
    result = run_tool([hadolint, "--failure-threshold", "warning",
                       str(tmp_path / "generated" / "docker" / "Dockerfile")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_release_workflow_passes_every_build_argument(tmp_path: Path) -> None:
    workflow = (_compile(tmp_path) / ".github" / "workflows"
                / "mlops-breast-cancer-release.yml").read_text()
    step = workflow.split("- name: Build the image", 1)[1].split("- name:", 1)[0]
    assert sorted(re.findall(r"--build-arg (\w+)=", step)) == sorted(BUILD_ARGS)
    assert 'model="$(digest models/model.onnx)"' in step
    assert "for file in data/train.csv data/test.csv; do" in step
    assert '--build-arg SPEC_DIGEST="$(digest mlops.yaml)"' in step


def test_generated_files_stay_fresh_from_commit_to_commit(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    spec = breast_cancer_project(tmp_path / "seed", models=True)
    subprocess.run([MLOPS, "compile", str(spec)], check=True, capture_output=True)
    make_repository(folder, {p.relative_to(spec.parent).as_posix(): p.read_bytes()
                             for p in spec.parent.rglob("*") if p.is_file()})
    (folder / "data" / "test.csv").write_text((folder / "data" / "test.csv").read_text() + "\n")
    git(folder, "commit", "-qam", "new data, same spec")
    check = subprocess.run([MLOPS, "compile", "--check", "mlops.yaml"], cwd=folder,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_mlops_build_computes_the_arguments_from_the_files_and_git(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "seed", models=True)
    folder = make_repository(tmp_path / "repo", {
        p.relative_to(spec.parent).as_posix(): p.read_bytes()
        for p in spec.parent.rglob("*") if p.is_file()})
    loaded = load_spec(folder / "mlops.yaml", check_files=False)
    head = git(folder, "rev-parse", "HEAD").strip()
    model = _sha256(folder / "models" / "model.onnx")
    assert build_args(loaded, None) == {
        "REVISION": head, "MODEL_VERSION": model[7:19], "MODEL_DIGEST": model,
        "SPEC_DIGEST": _sha256(folder / "mlops.yaml"),
        "DATA_DIGESTS": f"data/train.csv={_sha256(folder / 'data' / 'train.csv')} "
                        f"data/test.csv={_sha256(folder / 'data' / 'test.csv')}"}
    (folder / "models" / "model.onnx").write_bytes(b"changed")
    assert build_args(loaded, "2026.11")["REVISION"] == f"{head}-dirty"
    assert build_args(loaded, "2026.11")["MODEL_VERSION"] == "2026.11"


@pytest.mark.parametrize(("version", "remove_model", "message"), [
    ("v 1", False, "--model-version 'v 1' must be 1 to 128 visible ASCII characters without "
                   "spaces"),
    (None, True, "models/model.onnx: the model file is missing; train or fetch it before "
                 "building the image"),
])
def test_mlops_build_refuses_what_cannot_be_labelled(tmp_path: Path, version: str | None,
                                                     remove_model: bool, message: str) -> None:
    spec = breast_cancer_project(tmp_path, models=not remove_model)
    with pytest.raises(BuildError) as raised:
        build_args(load_spec(spec, check_files=False), version)
    assert str(raised.value) == message
