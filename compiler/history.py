"""An environment's deployment history, read from the git history of the compiler's lock.

Every promotion (the release workflow's, a rollback's) is a commit that changes the image digest
the lock records for an environment; Argo CD or Flux applies that commit. So the main line's
history of the lock is the answer to "what ran where, since when, promoted by whom": no
deployment database. The first-parent history is read, so a promotion merged through a pull
request counts from its merge (when the GitOps tool saw it), credited to whoever merged it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from mlops.core.errors import MlopsError, UsageError
from mlops.spec.loader import LoadedSpec

from .lock import LOCK_PROBLEMS, Lock, Release, parse_lock

FIELD = "\x1f"
GIT_TIMEOUT_S = 60


class HistoryError(MlopsError):
    """The deployment history cannot be read (no git repository, git missing or failing)."""


@dataclass(frozen=True)
class Promotion:
    """One change of an environment's image, as a commit of the lock recorded it."""

    image: str
    at: datetime
    commit: str
    author: str
    subject: str
    release: Release | None
    """What the release workflow recorded for the image; None: it never passed the gates."""

    def to_json(self) -> dict[str, object]:
        return {"image": self.image, "at": self.at.isoformat(), "commit": self.commit,
                "author": self.author, "subject": self.subject,
                "release": self.release.to_json() if self.release else None}


def require_environment(loaded: LoadedSpec, environment: str) -> None:
    """UsageError unless the spec deploys to `environment`."""
    names = [env.name for env in loaded.spec.deploy.environments]
    if environment not in names:
        raise UsageError(f"no environment {environment!r} in {loaded.path} (environments: "
                         f"{', '.join(names)})")


def _run_git(root: Path, args: tuple[str, ...], stdin: bytes | None = None) -> bytes:
    """Run git in `root`; its stdout, or HistoryError with git's own message."""
    try:
        done = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True,
                              check=False, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as error:
        raise HistoryError(f"git {args[0]}: {error}") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()
        raise HistoryError(f"git {args[0]} in {root}: {said.splitlines()[-1] if said else 'failed'}")
    return done.stdout


def git(root: Path, *args: str) -> str:
    """Run git in `root`; its stdout as text, or HistoryError with git's own message."""
    return _run_git(root, args).decode()


def _files_at(root: Path, commits: list[str], path: PurePosixPath) -> list[bytes | None]:
    """`path` at each commit (None where it does not exist), read by one `git cat-file --batch`
    instead of one git process per commit."""
    names = "".join(f"{commit}:{path}\n" for commit in commits).encode()
    out = _run_git(root, ("cat-file", "--batch"), names)
    contents: list[bytes | None] = []
    position = 0
    for _ in commits:
        end = out.index(b"\n", position)
        header = out[position:end].split()  # "<sha> blob <size>", or "<name> missing"
        position = end + 1
        if len(header) != 3:
            contents.append(None)
            continue
        size = int(header[2])
        contents.append(out[position:position + size])
        position += size + 1
    return contents


def deploy_ref(root: Path, branch: str) -> str:
    """The branch the GitOps controller syncs: the local one, else origin's (a fresh clone)."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        try:
            git(root, "rev-parse", "--verify", "--quiet", ref)
        except HistoryError:
            continue
        return ref
    raise HistoryError(f"no branch {branch!r} (deploy.branch) here or on origin: its history is "
                       "the deployment history")


def _locks(root: Path, ref: str, lock_path: PurePosixPath) -> list[tuple[list[str], Lock]]:
    """(commit fields, lock) for each main-line commit of `ref` that changed the lock, oldest
    first."""
    log = git(root, "log", "--first-parent", "--reverse",
              f"--format=%H{FIELD}%an <%ae>{FIELD}%cI{FIELD}%s", ref, "--", str(lock_path))
    commits = [line.split(FIELD, 3) for line in log.splitlines()]
    locks = []
    for fields, content in zip(commits, _files_at(root, [c[0] for c in commits], lock_path),
                               strict=True):
        if content is None:
            continue  # the commit deleted the lock
        try:
            locks.append((fields, parse_lock(content.decode())))
        except (*LOCK_PROBLEMS, UnicodeDecodeError):
            continue  # a broken lock promoted nothing
    return locks


def history(root: Path, ref: str, lock_path: PurePosixPath, environment: str,
            released: dict[str, Release]) -> list[Promotion]:
    """Every change of `environment`'s image on `ref`, oldest first.

    `released` (the current lock's, which keeps every release ever recorded) names what each
    image serves; a lock of the time may have recorded it too.
    """
    promotions: list[Promotion] = []
    for (commit, author, at, subject), lock in _locks(root, ref, lock_path):
        image = lock.promoted.get(environment)
        if image is None or (promotions and promotions[-1].image == image):
            continue
        release = released.get(image) or lock.released.get(image)
        promotions.append(Promotion(image, datetime.fromisoformat(at), commit, author, subject,
                                    release))
    return promotions


def live_at(promotions: list[Promotion], moment: datetime) -> Promotion | None:
    """The promotion in force at `moment` (the last one at or before it), if any."""
    current = None
    for promotion in promotions:
        if promotion.at <= moment:
            current = promotion
    return current
