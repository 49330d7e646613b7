"""Shared by the Kubernetes and monitoring target tests: the specs, rendering, and the real tools.

The files are rendered through the real targets and template environment, given their do-not-edit
headers like `mlops compile` does, and written to a temporary tree the validators read.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mlops.compiler.headers import with_header
from mlops.compiler.plan import GeneratedFile, RenderContext
from mlops.compiler.render import template_environment
from mlops.compiler.targets import kubernetes, monitoring
from mlops.spec.loader import LoadedSpec, load_spec
from tests.tooling import require_tool

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "k8s_specs"
SPECS: dict[str, Path] = {
    "root": REPO / "mlops.yaml",
    **{path.parent.name: path for path in sorted(FIXTURES.glob("*/mlops.yaml"))},
}
SPEC_NAMES = sorted(SPECS)
OUTPUT = PurePosixPath("generated")
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def load(name: str) -> LoadedSpec:
    """A spec by name. The root spec's data files come from the example's training run (another
    part of the product) and these targets read none of them, so only there are file checks off."""
    return load_spec(SPECS[name], check_files=name != "root")


def context(loaded: LoadedSpec, promoted: Mapping[str, str] | None = None) -> RenderContext:
    return RenderContext(
        loaded=loaded, repo_root=loaded.root, spec_dir=PurePosixPath("."), output_dir=OUTPUT,
        workflows_dir=PurePosixPath(".github/workflows"), templates=template_environment(),
        promoted=dict(promoted or {}),
    )


def render(loaded: LoadedSpec, promoted: Mapping[str, str] | None = None
           ) -> dict[PurePosixPath, GeneratedFile]:
    """Both targets' files by path; a path produced twice is a bug."""
    ctx = context(loaded, promoted)
    files: dict[PurePosixPath, GeneratedFile] = {}
    for target in (kubernetes.TARGET, monitoring.TARGET):
        for file in target.render(ctx):
            assert file.path not in files, f"{file.path} rendered twice"
            files[file.path] = file
    return files


def write_tree(files: Mapping[PurePosixPath, GeneratedFile], root: Path) -> Path:
    """Write the files with their headers under root; returns root / generated."""
    for file in files.values():
        target = root / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(with_header(file, PurePosixPath("mlops.yaml")).content, encoding="utf-8")
    return root / OUTPUT


def tool(name: str, path: Path | None = None) -> str:
    """An external validator's path (see tests/tooling.py: a failure under CI=true, else a skip)."""
    return require_tool(name, path=path)


def run(command: list[str], *, stdin: str | None = None, cwd: Path | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, input=stdin, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def kustomize(overlay: Path) -> str:
    """`kubectl kustomize OVERLAY`: what Argo CD / Flux would apply."""
    result = run([tool("kubectl"), "kustomize", str(overlay)])
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return result.stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def parse(file: GeneratedFile) -> list[dict[str, Any]]:
    return documents(file.content)
