"""The baseline: the model (and optional metrics file) as committed at `model.baseline.ref`.

Blobs are read straight from the git object store with gitpython, so the working tree is never
touched and the candidate and baseline can be evaluated side by side in one run. Anything that
makes the baseline unavailable (no repository, unknown ref, file absent at that ref) is returned
as a reason, which the gates report as a `skip` check: a first release has no baseline to beat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git


@dataclass(frozen=True)
class Baseline:
    """What the ref holds; `model` or `metrics` is None (with `missing` saying why) when absent."""

    ref: str
    commit: str
    model: bytes | None
    metrics: dict[str, float] | None
    missing: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """'origin/main (3f2a1bc)' for messages."""
        return f"{self.ref} ({self.commit[:7]})"


class BaselineUnavailable(Exception):
    """No baseline can be read at all; the message says why, for a skip check."""


def read_baseline(root: Path, ref: str, artifact: str, metrics: str | None = None) -> Baseline:
    """Read `artifact` (and `metrics`) at `ref` in the git repository holding `root`."""
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise BaselineUnavailable(f"the spec's folder is in no git repository, so no baseline at "
                                  f"{ref}") from None
    with repo:
        if repo.working_tree_dir is None:
            raise BaselineUnavailable(f"the spec's folder is in a bare git repository; no baseline "
                                      f"at {ref}")
        try:
            commit = repo.commit(ref)
        except (git.BadName, git.BadObject, ValueError):
            raise BaselineUnavailable(f"git ref '{ref}' does not exist in this repository") from None
        missing: list[str] = []
        model = _blob(repo, commit, root, artifact, ref, missing)
        raw_metrics = _blob(repo, commit, root, metrics, ref, missing) if metrics else None
    return Baseline(ref, commit.hexsha, model, _parse_metrics(raw_metrics, metrics, ref), tuple(missing))


def _blob(
    repo: git.Repo, commit: git.Commit, root: Path, relative: str, ref: str, missing: list[str]
) -> bytes | None:
    path = (root / relative).resolve().relative_to(Path(str(repo.working_tree_dir)).resolve()).as_posix()
    try:
        data: bytes = (commit.tree / path).data_stream.read()
    except KeyError:
        missing.append(f"{relative} is not committed at {ref} ({commit.hexsha[:7]})")
        return None
    return data


def _parse_metrics(raw: bytes | None, path: str | None, ref: str) -> dict[str, float] | None:
    """A JSON object of numbers, either flat or under a "metrics" key."""
    if raw is None:
        return None
    try:
        document: Any = json.loads(raw)
    except ValueError as error:
        raise BaselineUnavailable(f"{path} at {ref} is not valid JSON: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("metrics"), dict):
        document = document["metrics"]
    if not isinstance(document, dict):
        raise BaselineUnavailable(f"{path} at {ref} is not a JSON object of metric values")
    return {
        str(k): float(v)
        for k, v in document.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
