"""`mlops rollback`: promote an earlier released image again, the way the release workflow does.

The rollback is an ordinary promotion: the environment's overlay is recompiled with the earlier
digest and committed (or put on a pull request branch), so the GitOps controller applies it and
the commit is the audit record. Only an image the release workflow recorded as released (the
gates passed on its commit) may be rolled back to. Everything is checked before a file is touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops.spec.loader import LoadedSpec

from .compile import WORKFLOWS_DIR, lock_location, prepare, write
from .history import HistoryError, Promotion, git, history, require_environment
from .lock import Lock, read_lock

HEX_PREFIX = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")


class RollbackError(HistoryError):
    """The rollback was refused; nothing was changed."""


@dataclass(frozen=True)
class Rollback:
    """What a rollback did: the commit on `branch`, and whether it was pushed."""

    environment: str
    image: str
    previous: str
    commit: str
    branch: str
    pushed: bool
    pull_request: bool


def _resolve(wanted: str, lock: Lock, promotions: Sequence[Promotion]) -> str:
    """The full image digest `wanted` names: a digest or a prefix of 12+ hex digits."""
    if not HEX_PREFIX.match(wanted):
        raise RollbackError(f"--to {wanted}: expected an image digest 'sha256:' followed by hex "
                            "digits (at least 12, as `mlops history` prints them)")
    prefix = wanted if wanted.startswith("sha256:") else f"sha256:{wanted}"
    known = sorted({*lock.released, *(p.image for p in promotions)})
    matches = [image for image in known if image.startswith(prefix)]
    if len(matches) > 1:
        raise RollbackError(f"--to {wanted}: matches {len(matches)} images ("
                            f"{', '.join(matches)}); give more digits")
    return matches[0] if matches else prefix


def _previous(promotions: Sequence[Promotion], current: str, environment: str) -> str:
    """The image `environment` ran before `current`."""
    for promotion in reversed(promotions):
        if promotion.image != current:
            return promotion.image
    raise RollbackError(f"nothing to roll back to: {environment} has only ever run {current} "
                        "in this repository's history")


def _refuse_unreleased(target: str, lock: Lock, lock_display: str) -> None:
    if target in lock.released:
        return
    releases = "".join(f"\n  {image} (model {release.model_version}, commit "
                       f"{release.revision[:12]})" for image, release in sorted(lock.released.items()))
    raise RollbackError(
        f"{target} never passed the release gates: the release workflow recorded no such image "
        f"in {lock_display}, so it cannot be rolled back to"
        + (f"; released images:{releases}" if releases else "; no image has been released yet"))


def _check_checkout(root: Path, loaded: LoadedSpec, paths: Sequence[str]) -> None:
    branch = loaded.spec.deploy.branch
    current = git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    if current != branch:
        raise RollbackError(f"the checkout is on {current!r}: roll back from {branch!r} (the "
                            f"branch {loaded.spec.deploy.gitops} deploys from); `git switch "
                            f"{branch}` first")
    if git(root, "status", "--porcelain", "--", *paths).strip():
        raise RollbackError(f"uncommitted changes in {' or '.join(paths)}: commit or discard "
                            "them first (a rollback commits only its own change)")
    git(root, "var", "GIT_COMMITTER_IDENT")  # fails, with git's advice, before anything is written


def rollback(loaded: LoadedSpec, environment: str, to: str | None, push: bool) -> Rollback:
    """Pin `environment` to `to` (default: the image it ran before) and commit it."""
    require_environment(loaded, environment)
    root, lock_path = lock_location(loaded)
    lock = read_lock(root / lock_path, str(lock_path))
    current = lock.promoted.get(environment) if lock else None
    if lock is None or current is None:
        raise RollbackError(f"{environment} was never promoted ({lock_path} records no image for "
                            "it): nothing to roll back")
    _check_checkout(root, loaded, owned := [str(lock_path.parent), str(WORKFLOWS_DIR)])
    promotions = history(root, "HEAD", lock_path, environment, dict(lock.released))
    target = (_resolve(to, lock, promotions) if to
              else _previous(promotions, current, environment))
    _refuse_unreleased(target, lock, str(lock_path))
    if target == current:
        raise RollbackError(f"{environment} already runs {target}: nothing to roll back")
    units = prepare([loaded.path], promote={environment: target})
    pull_request = loaded.spec.deploy.promotion == "pull_request"
    branch = loaded.spec.deploy.branch
    if pull_request:
        branch = f"mlops/rollback-{loaded.spec.name}-{environment}"
        git(root, "switch", "--force-create", branch)
    write(units)
    git(root, "add", "--all", "--", *owned)
    git(root, "commit", "--quiet", "--message",
        f"deploy({loaded.spec.name}): roll back {environment} to {target} (was {current})")
    commit = git(root, "rev-parse", "HEAD").strip()
    if push:
        git(root, "push", *(["--force"] if pull_request else []), "origin",
            f"HEAD:refs/heads/{branch}")
    return Rollback(environment, target, current, commit, branch, push, pull_request)
