"""Retraining from the commit being gated (`model.reproducible`), for the model gate to compare
with the candidate.

The commit is HEAD of the git repository holding the spec. It is checked out as a temporary git
worktree (detached, hooks off, removed afterwards whatever happens), so the user's checkout, index
and branch are never touched; git's own filters (LFS) still apply. `model.train` runs there
exactly as `mlops release` runs it (`harness.training`: same shell, environment and folder, the
spec's folder inside the checkout).

A working tree with uncommitted changes to tracked files is refused rather than retrained: the
check vouches that *this commit* reproduces the candidate, and the report pins the commit; a
retraining from the working tree would vouch for code no commit holds, and a retraining from HEAD
would be compared with a candidate built from other code. Only the model's own files (the
artifact, `model.source.path`) may differ from HEAD, since `mlops release --retrain` rewrites
them. Data files the spec declares that git does not track (DVC, a download step in CI) are
copied into the checkout, so the retraining reads the same data the gates read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import git
import numpy as np
import numpy.typing as npt

from mlops.core.digest import digest_of
from mlops.core.runtime import FeedError, ModelError
from mlops.harness.result import CheckFactory, CheckResult
from mlops.harness.training import run_training
from mlops.spec.loader import LoadedSpec
from mlops.spec.threshold import format_number

from .metrics import Outputs

NAME = "reproducible"
SHOWN_CHANGES = 5
"""Uncommitted files named in the refusal; the rest are counted."""


class RetrainProblem(Exception):
    """The retraining did not produce a model to compare; the message says why.

    `failed` marks a training that does not reproduce from the commit (it fails there, or writes
    no model): a failed check. Otherwise the check could not run at all: an error."""

    def __init__(self, message: str, *, failed: bool = False) -> None:
        super().__init__(message)
        self.failed = failed


@dataclass(frozen=True)
class Retrained:
    """The artifact model.train wrote in a clean checkout of `commit`."""

    commit: str
    """Short hash, for messages."""
    model: bytes
    elapsed_s: float


@dataclass(frozen=True)
class Agreement:
    """How far two models' test-set outputs are apart, row by row."""

    rows: int
    differing: int
    """Rows with an output farther apart than atol."""
    largest: float

    @property
    def fraction(self) -> float:
        return self.differing / self.rows if self.rows else 0.0


def reproducible_check(check: CheckFactory, loaded: LoadedSpec, outputs: Outputs,
                       outputs_of: Callable[[bytes, str], Outputs]) -> CheckResult:
    """The model gate's `reproducible` check: retrain from the commit, then compare the bytes or,
    with compare: predictions, the test-set outputs (`outputs` are the candidate's; `outputs_of`
    runs an ONNX model, named in messages, on the same rows)."""
    settings = loaded.spec.model.reproducible
    if settings is None:
        return check(NAME, "skip", "model.reproducible is not set; the training is not re-run to "
                                   "check that it reproduces the model")
    try:
        retrained = retrain_from_commit(loaded)
    except RetrainProblem as problem:
        return check(NAME, "fail" if problem.failed else "error", str(problem))
    artifact = loaded.spec.model.artifact
    where = f"retrained from commit {retrained.commit}"
    details: dict[str, Any] = {"commit": retrained.commit, "retrain_s": round(retrained.elapsed_s, 1)}
    candidate = loaded.resolve(artifact).read_bytes()
    if retrained.model == candidate:
        return check(NAME, "pass", f"{where}: {artifact} is bit-identical to the candidate",
                     details=details)
    digests = f"sha256 {_short(retrained.model)} vs the candidate's {_short(candidate)}"
    if settings.compare == "bytes":
        return check(NAME, "fail", f"{where}: {artifact} is not bit-identical to the candidate "
                                   f"({digests}): the training is not reproducible; for a "
                                   "framework that is not bit-reproducible, set "
                                   "model.reproducible.compare: predictions", details=details)
    try:
        again = outputs_of(retrained.model, f"the model {where}")
    except (ModelError, FeedError) as error:
        return check(NAME, "fail", f"the model {where} is not usable: {error}", details=details)
    compared = "predictions" if outputs.proba is None else "probabilities"
    first, second = (outputs.values, again.values) if outputs.proba is None else (
        outputs.proba, again.proba)
    assert first is not None and second is not None
    if first.shape != second.shape:
        return check(NAME, "fail", f"{where}: it outputs {second.shape[-1]} classes, the "
                                   f"candidate {first.shape[-1]}: the training is not "
                                   "reproducible", details=details)
    found = agreement(first, second, settings.atol)
    allowed = format_number(settings.max_mismatch_fraction)
    summary = (f"{where}: {artifact} is not bit-identical ({digests}); its {compared} differ from "
               f"the candidate's by more than atol {format_number(settings.atol)} on "
               f"{found.differing} of {found.rows} test rows (largest difference "
               f"{found.largest:.3g}), configured to allow a fraction of {allowed}")
    within = found.fraction <= settings.max_mismatch_fraction
    return check(NAME, "pass" if within else "fail",
                 summary if within else f"{summary}: the training is not reproducible",
                 observed=found.fraction, threshold=f"<= {allowed}",
                 details={**details, "rows": found.rows, "differing_rows": found.differing,
                          "largest_difference": found.largest})


def _short(model: bytes) -> str:
    """The first 12 hex digits of the model's SHA-256, enough to tell two apart in a message."""
    return digest_of(model).removeprefix("sha256:")[:12]


def retrain_from_commit(loaded: LoadedSpec) -> Retrained:
    """Run model.train in a temporary checkout of HEAD and read the artifact it wrote."""
    command = loaded.spec.model.train
    if not command:
        raise RetrainProblem("model.reproducible needs model.train to retrain the model")
    try:
        repo = git.Repo(loaded.root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RetrainProblem("model.reproducible retrains from the commit being gated, but the "
                             "spec's folder is in no git repository") from None
    with repo:
        if repo.working_tree_dir is None:
            raise RetrainProblem("the spec's folder is in a bare git repository; there is no "
                                 "commit to retrain from")
        try:
            commit = repo.head.commit.hexsha
        except ValueError:
            raise RetrainProblem("the git repository has no commit yet to retrain from") from None
        top = Path(repo.working_tree_dir).resolve()
        inside = loaded.root.resolve().relative_to(top)
        _refuse_uncommitted(repo, top, loaded, commit[:7])
        scratch = Path(tempfile.mkdtemp(prefix="mlops-retrain-"))
        checkout = scratch / "checkout"
        try:
            try:
                repo.git.execute(["git", "-c", f"core.hooksPath={os.devnull}", "worktree", "add",
                                  "--detach", "--quiet", str(checkout), commit])
            except git.GitCommandError as error:
                raise RetrainProblem(f"git cannot check out commit {commit[:7]} to retrain "
                                     f"from: {_git_said(error)}") from None
            return _train(loaded, checkout / inside, command, commit[:7])
        finally:
            _remove_worktree(repo, checkout)
            shutil.rmtree(scratch, ignore_errors=True)


def _model_files(loaded: LoadedSpec) -> list[str]:
    """The files training writes, which may differ from HEAD without making the tree dirty."""
    model = loaded.spec.model
    return [model.artifact] + ([model.source.path] if model.source else [])


def _refuse_uncommitted(repo: git.Repo, top: Path, loaded: LoadedSpec, short: str) -> None:
    """RetrainProblem naming the tracked files that differ from HEAD (staged or not), but the
    model's own files."""
    outputs = {loaded.resolve(path).resolve().relative_to(top).as_posix()
               for path in _model_files(loaded)}
    listed = repo.git.execute(["git", "diff", "HEAD", "--name-only", "-z", "--no-renames"])
    changed = [path for path in str(listed).split("\0") if path and path not in outputs]
    if not changed:
        return
    shown = ", ".join(changed[:SHOWN_CHANGES])
    more = f" and {len(changed) - SHOWN_CHANGES} more" if len(changed) > SHOWN_CHANGES else ""
    raise RetrainProblem(
        f"the working tree has uncommitted changes to {len(changed)} tracked file(s) ({shown}"
        f"{more}): the check retrains from commit {short}, which does not hold them, so it would "
        "not show whether this candidate reproduces; commit them and run again")


def _train(loaded: LoadedSpec, folder: Path, command: str, short: str) -> Retrained:
    """model.train in the spec's folder of the checkout, with the committed model files removed
    first so only what the training writes is compared."""
    for path in _model_files(loaded):
        (folder / path).unlink(missing_ok=True)
    _copy_untracked_data(loaded, folder)
    try:
        run = run_training(command, folder)
    except OSError as error:
        raise RetrainProblem(f"cannot run model.train `{command}`: {error}") from None
    if not run.succeeded:
        raise RetrainProblem(f"retraining from commit {short} failed: {run.failure()}; the "
                             "training does not reproduce from the commit", failed=True)
    artifact = folder / loaded.spec.model.artifact
    if not artifact.is_file():
        raise RetrainProblem(f"retraining from commit {short}: model.train `{command}` succeeded "
                             f"but did not write {loaded.spec.model.artifact}", failed=True)
    return Retrained(short, artifact.read_bytes(), run.elapsed_s)


def _copy_untracked_data(loaded: LoadedSpec, folder: Path) -> None:
    """Declared data files the checkout lacks (git does not track them) are copied from the
    user's: copies, not links, so a training that rewrites its data cannot reach the user's."""
    data = loaded.spec.data
    for relative in dict.fromkeys((data.train, data.test, data.reference_path, data.current)):
        if relative is None or PurePosixPath(relative).is_absolute():
            continue
        source, target = loaded.resolve(relative), folder / relative
        if source.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _git_said(error: git.GitCommandError) -> str:
    """What git printed, on one line (gitpython quotes it as "stderr: '...'")."""
    text = str(error.stderr).strip().removeprefix("stderr:").strip().strip("'")
    return " / ".join(line.strip() for line in text.splitlines() if line.strip()) or (
        f"exit status {error.status}")


def _remove_worktree(repo: git.Repo, checkout: Path) -> None:
    """Drop the temporary worktree; git's record of it goes with it, or, when `add` failed
    halfway or the removal did, with a prune."""
    try:
        repo.git.execute(["git", "worktree", "remove", "--force", str(checkout)])
    except git.GitCommandError:
        shutil.rmtree(checkout, ignore_errors=True)
        repo.git.execute(["git", "worktree", "prune"])


def agreement(candidate: npt.NDArray[Any], retrained: npt.NDArray[Any], atol: float) -> Agreement:
    """Rows whose outputs (probabilities, or values) differ by more than `atol`; a NaN on one side
    only differs."""
    rows = len(candidate)
    first = np.asarray(candidate, dtype=np.float64).reshape(rows, -1)
    second = np.asarray(retrained, dtype=np.float64).reshape(rows, -1)
    both_nan = np.isnan(first) & np.isnan(second)
    gaps = np.where(both_nan, 0.0, np.abs(first - second))
    gaps = np.where(np.isnan(gaps), np.inf, gaps)
    per_row = gaps.max(axis=1) if gaps.size else np.zeros(rows)
    return Agreement(rows, int((per_row > atol).sum()), float(per_row.max()) if rows else 0.0)
