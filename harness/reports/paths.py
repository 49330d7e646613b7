"""Paths as reports show them: relative to the repository, never the machine's own.

A report is read far from the runner that wrote it (a PR comment, a CI artifact, a saved JSON
re-rendered later), where `/home/runner/work/...` means nothing and tells a reader about the
machine. Every path a report names is relative to the git work tree holding the spec (or to the
spec's folder outside git).
"""

from __future__ import annotations

import os
from pathlib import Path

from mlops.core.repository import repository_root


def repository_path(path: Path, root: Path) -> str | None:
    """`path` relative to `root` ('reports/load'), or None when it lies outside."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return relative.as_posix() or "."


def spec_display(spec: Path) -> str:
    """The spec's path in its repository ('mlops.yaml', 'examples/churn/mlops.yaml')."""
    shown = repository_path(spec, repository_root(spec.parent))
    return shown if shown is not None else spec.name


def report_relative(path: Path, report_dir: Path) -> str:
    """`path` relative to the report's folder, for links from the report (HTML `href`)."""
    return Path(os.path.relpath(path.resolve(), report_dir.resolve())).as_posix()


def scrub(text: str, root: Path) -> str:
    """Another program's words (a server log's tail) with `root`'s absolute path taken out:
    'cannot serve /runner/work/repo/mlops.yaml' -> 'cannot serve mlops.yaml'."""
    absolute = str(root.resolve())
    return text.replace(absolute + "/", "").replace(absolute, ".")
