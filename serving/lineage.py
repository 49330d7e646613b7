"""Which model answered: name, version, SHA-256 of the ONNX file and the commit it was built from.

Computed once when the model is loaded; every response then carries the same precomputed header
pairs (the hot path adds a tuple, nothing is hashed or formatted per request).

The version is, in order: `MLOPS_MODEL_VERSION` (the image sets it from its `MODEL_VERSION`
build argument; a team may set it in the Deployment), else the first 12 hex digits of the digest,
so two different files never report the same version. The commit is `MLOPS_GIT_COMMIT` (the
image sets it from its `REVISION` build argument), else the HEAD of the git repository holding the
spec, else empty.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

VERSION_ENV = "MLOPS_MODEL_VERSION"
COMMIT_ENV = "MLOPS_GIT_COMMIT"
SHORT_DIGEST = 12
VERSION_HEADER = b"x-model-version"
DIGEST_HEADER = b"x-model-digest"
VERSION = re.compile(r"[!-~]{1,128}")
"""A version travels in a header and a metric label: visible ASCII, no spaces."""


def version_problem(version: str, where: str) -> str | None:
    """Why `version` cannot be a model version ("" is fine: the digest's short form is used)."""
    if not version or VERSION.fullmatch(version):
        return None
    return f"{where} {version!r} must be 1 to 128 visible ASCII characters without spaces"


def git_commit(folder: Path) -> str:
    """HEAD of the repository holding `folder`, or "" outside one (or without git)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                              text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@dataclass(frozen=True)
class Lineage:
    """The served model's identity, as headers, metric labels and request-log fields show it."""

    name: str
    version: str
    digest: str
    commit: str

    @classmethod
    def of(cls, name: str, digest: str, version: str, commit: str) -> Lineage:
        """`version` "" falls back to the digest's short form."""
        return cls(name, version or digest.removeprefix("sha256:")[:SHORT_DIGEST], digest, commit)

    @property
    def headers(self) -> tuple[tuple[bytes, bytes], ...]:
        return ((VERSION_HEADER, self.version.encode()), (DIGEST_HEADER, self.digest.encode()))
