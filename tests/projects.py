"""Projects for tests: `{path: content}` files (`write_files`), the breast-cancer project most
tests start from (`breast_cancer_project`), and a project in a git repository of its own whose
`origin` (a bare repository beside it) holds the pushed `main` (`make_repository`).

A repository of its own is what a team's checkout looks like to mlops: `model.baseline.ref:
origin/main` resolves, and the repository root (where `.github/workflows/` goes) is the project's
folder, not this checkout. Git runs as the real command, with a fixed identity so no user
configuration is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.specs import breast_cancer, changed, write_spec

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train", "test", "current")
REQUIREMENTS = "examples/breast_cancer/requirements.txt"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Outside Team", "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Outside Team", "GIT_COMMITTER_EMAIL": "team@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(folder: Path, *args: str) -> str:
    """Run git in `folder` (no global or system configuration); its stdout, or AssertionError."""
    env = {**os.environ, **GIT_IDENTITY, "GIT_CONFIG_GLOBAL": os.devnull}
    result = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"git {' '.join(args)} in {folder}: {result.stderr}"
    return result.stdout


def files_of(folder: Path, exclude: Iterable[str] = ()) -> dict[str, bytes]:
    """Every file below `folder` by POSIX relative path, skipping paths under `exclude` prefixes
    and Python caches: the `{path: content}` form of an existing project."""
    skipped = tuple(exclude)
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and not relative.startswith(skipped):
            files[relative] = path.read_bytes()
    return files


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> None:
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def breast_cancer_project(folder: Path, changes: Mapping[str, Any] | None = None, *,
                          models: bool = False) -> Path:
    """The suite's breast-cancer spec (with `changes` by key path, see `tests.specs`) as
    `folder`/mlops.yaml, the example's data/{train,test,current}.csv and the requirements file
    install.requirements names, and with `models` its committed models/; returns the spec path.

    Without the example's data (a fresh checkout before `prepare_data.py` ran) the same columns
    are generated from scikit-learn's bundled data set."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = write_spec(folder / "mlops.yaml", changed(breast_cancer(), changes or {}))
    (folder / REQUIREMENTS).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / REQUIREMENTS, folder / REQUIREMENTS)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    if all((ROOT / "data" / f"{split}.csv").is_file() for split in SPLITS):
        for split in SPLITS:
            shutil.copy(ROOT / "data" / f"{split}.csv", data / f"{split}.csv")
    else:
        subprocess.run([sys.executable, str(ROOT / "examples/breast_cancer/prepare_data.py"),
                        "--out-dir", str(data)], check=True, capture_output=True)
    if models:
        shutil.copytree(ROOT / "models", folder / "models", dirs_exist_ok=True)
    return spec


def make_repository(folder: Path, files: Mapping[str, str | bytes],
                    message: str = "first commit") -> Path:
    """Write `files` into `folder`, commit them on `main` and push to a bare `origin`
    (`<folder>.origin.git` beside it). Returns `folder`."""
    folder.mkdir(parents=True)
    origin = folder.with_name(folder.name + ".origin.git")
    git(folder.parent, "init", "-q", "--bare", "-b", "main", str(origin))
    write_files(folder, files)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "remote", "add", "origin", str(origin))
    commit_and_push(folder, message)
    return folder


def commit_and_push(folder: Path, message: str) -> str:
    """Commit everything in `folder` and push `main` to origin (so origin/main follows); the sha."""
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "--allow-empty", "-m", message)
    git(folder, "push", "-q", "-u", "origin", "main")
    return git(folder, "rev-parse", "HEAD").strip()
