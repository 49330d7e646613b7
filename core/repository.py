"""Where the repository holding a spec starts: the compiler writes workflows at its top, and
reports name paths relative to it."""

from __future__ import annotations

from pathlib import Path


def repository_root(folder: Path) -> Path:
    """The top of the git work tree holding `folder` (a `.git` folder, or a file in worktrees),
    else `folder` itself."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder
