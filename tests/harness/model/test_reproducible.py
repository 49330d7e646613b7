"""The model gate's `reproducible` check (model.reproducible) on a tiny project that trains its
own model in a git repository of its own: real git worktrees, real training, real onnxruntime.

Two trainings are only ever compared on the same machine, which is what the check does: no test
depends on the floats one machine produces."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mlops.harness.model.gate import GATE
from mlops.harness.model.reproducible import agreement
from mlops.harness.training import run_training
from tests.harness.model_helpers import checks, run
from tests.harness.training_helpers import TEST_ROWS, noisy_training, tiny_project
from tests.projects import commit_and_push, git
from tests.specs import edit_spec

COMMIT = "[0-9a-f]{7}"
DIGESTS = "sha256 [0-9a-f]{12} vs the candidate's [0-9a-f]{12}"


def _untouched(folder: Path) -> tuple[str, str]:
    """What the check must leave as it was: the checkout's status and git's worktrees."""
    return git(folder, "status", "--porcelain", "--ignored"), git(folder, "worktree", "list")


def test_a_seeded_training_is_bit_identical_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p")
    before = _untouched(spec.parent)
    check = checks(run(GATE, spec))["reproducible"]
    assert check.status == "pass", check.message
    assert re.fullmatch(f"retrained from commit {COMMIT}: models/model.onnx is bit-identical to "
                        "the candidate", check.message), check.message
    assert check.details["commit"] == git(spec.parent, "rev-parse", "--short=7", "HEAD").strip()
    assert _untouched(spec.parent) == before  # the ignored data was copied in, nothing left behind


def test_noise_fails_the_bytes_but_passes_predictions_within_atol(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(1e-5))
    bytes_check = checks(run(GATE, spec))["reproducible"]
    assert bytes_check.status == "fail"
    assert re.fullmatch(f"retrained from commit {COMMIT}: models/model.onnx is not bit-identical "
                        f"to the candidate \\({DIGESTS}\\): the training is not reproducible; for "
                        "a framework that is not bit-reproducible, set "
                        "model.reproducible.compare: predictions", bytes_check.message)

    edit_spec(spec, {"model.reproducible": {"compare": "predictions", "atol": 1e-3}})
    commit_and_push(spec.parent, "compare predictions")  # the spec is tracked: commit it
    close = checks(run(GATE, spec))["reproducible"]
    assert close.status == "pass", close.message
    assert re.fullmatch(f"retrained from commit {COMMIT}: models/model.onnx is not bit-identical "
                        f"\\({DIGESTS}\\); its probabilities differ from the candidate's by more "
                        f"than atol 0.001 on 0 of {TEST_ROWS} test rows \\(largest difference "
                        "[0-9.e-]+\\), configured to allow a fraction of 0", close.message)
    assert (close.observed, close.threshold) == (0.0, "<= 0")
    assert 0 < close.details["largest_difference"] < 1e-3


def test_large_noise_fails_predictions_naming_rows_and_largest_difference(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(1.0),
                        reproducible={"compare": "predictions", "atol": 1e-3,
                                      "max_mismatch_fraction": 0.1})
    # a committed model that the release retrained in place is the candidate, not a change
    git(spec.parent, "add", "-f", "models/model.onnx")
    commit_and_push(spec.parent, "commit the model")
    assert run_training("python train.py", spec.parent).succeeded
    assert git(spec.parent, "status", "--porcelain") == " M models/model.onnx\n"
    check = checks(run(GATE, spec))["reproducible"]
    assert check.status == "fail", check.message
    differing = check.details["differing_rows"]
    assert differing > TEST_ROWS * 0.1 and check.observed == differing / TEST_ROWS
    largest = check.details["largest_difference"]
    assert largest > 1e-3
    assert check.message.endswith(
        f"; its probabilities differ from the candidate's by more than atol 0.001 on {differing} "
        f"of {TEST_ROWS} test rows (largest difference {largest:.3g}), configured to allow a "
        "fraction of 0.1: the training is not reproducible")


def test_uncommitted_training_code_is_refused_not_retrained(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(0))
    script = spec.parent / "train.py"
    script.write_text(script.read_text() + "# tuned\n")
    before = _untouched(spec.parent)
    check = checks(run(GATE, spec))["reproducible"]
    head = git(spec.parent, "rev-parse", "--short=7", "HEAD").strip()
    assert (check.status, check.message) == (
        "error", "the working tree has uncommitted changes to 1 tracked file(s) (train.py): the "
                 f"check retrains from commit {head}, which does not hold them, so it would not "
                 "show whether this candidate reproduces; commit them and run again")
    assert _untouched(spec.parent) == before


def test_a_training_that_rewrites_its_data_leaves_the_users_data_alone(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(0))
    edit_spec(spec, {"model.train": "python train.py && echo 9,9,9,1 >> data/train.csv"})
    commit_and_push(spec.parent, "the training appends to its data")
    data = (spec.parent / "data/train.csv").read_bytes()
    assert checks(run(GATE, spec))["reproducible"].status == "pass"
    assert (spec.parent / "data/train.csv").read_bytes() == data


def test_a_checkout_git_cannot_make_is_an_error_and_cleaned_up(tmp_path: Path) -> None:
    """Git LFS not installed where the repository requires its smudge filter, say."""
    spec = tiny_project(tmp_path / "p", noisy_training(0))
    folder = spec.parent
    git(folder, "config", "filter.lfs.smudge", "git-lfs-not-installed smudge -- %f")
    git(folder, "config", "filter.lfs.clean", "cat")
    git(folder, "config", "filter.lfs.required", "true")
    (folder / ".gitattributes").write_text("*.py filter=lfs\n")
    commit_and_push(folder, "train.py through LFS")
    before = _untouched(folder)
    check = checks(run(GATE, spec))["reproducible"]
    head = git(folder, "rev-parse", "--short=7", "HEAD").strip()
    assert check.status == "error"
    assert check.message.startswith(f"git cannot check out commit {head} to retrain from: ")
    assert check.message.endswith("fatal: train.py: smudge filter lfs failed"), check.message
    assert _untouched(folder) == before


def test_a_training_that_needs_an_uncommitted_file_fails_from_the_commit(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(0))
    edit_spec(spec, {"model.train": "python train.py && cat notes.txt"})
    (spec.parent / "notes.txt").write_text("only on my machine\n")
    commit_and_push(spec.parent, "train reads notes.txt")
    git(spec.parent, "rm", "-q", "--cached", "notes.txt")
    git(spec.parent, "commit", "-q", "-m", "notes.txt is no longer committed")
    check = checks(run(GATE, spec))["reproducible"]
    head = git(spec.parent, "rev-parse", "--short=7", "HEAD").strip()
    assert check.status == "fail"
    assert check.message.startswith(f"retraining from commit {head} failed: model.train `python "
                                    "train.py && cat notes.txt` exited with 1 after ")
    assert check.message.endswith("No such file or directory; the training does not reproduce "
                                  "from the commit")


def test_without_a_commit_it_is_an_error_and_without_the_setting_a_skip(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(0))
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("mlops.yaml", "train.py", "data/train.csv", "data/test.csv", "models/model.onnx"):
        (plain / name).parent.mkdir(exist_ok=True)
        (plain / name).write_bytes((spec.parent / name).read_bytes())
    check = checks(run(GATE, plain / "mlops.yaml"))["reproducible"]
    assert (check.status, check.message) == (
        "error", "model.reproducible retrains from the commit being gated, but the spec's folder "
                 "is in no git repository")
    git(plain, "init", "-q")
    check = checks(run(GATE, plain / "mlops.yaml"))["reproducible"]
    assert (check.status, check.message) == (
        "error", "the git repository has no commit yet to retrain from")
    edit_spec(plain / "mlops.yaml", {"model.reproducible": False})
    check = checks(run(GATE, plain / "mlops.yaml"))["reproducible"]
    assert (check.status, check.message) == (
        "skip", "model.reproducible is not set; the training is not re-run to check that it "
                "reproduces the model")


def test_agreement_counts_rows_beyond_atol_and_a_one_sided_nan() -> None:
    candidate = np.array([[0.2, 0.8], [0.5, 0.5], [np.nan, 1.0], [np.nan, 0.0]])
    retrained = np.array([[0.2, 0.8], [0.6, 0.4], [np.nan, 1.0], [0.1, 0.0]])
    found = agreement(candidate, retrained, atol=0.05)
    assert (found.rows, found.differing, found.fraction) == (4, 2, 0.5)
    assert found.largest == float("inf")
    values = agreement(np.array([1.0, 2.0]), np.array([1.0, 2.5]), atol=0.1)
    assert (values.differing, values.largest) == (1, 0.5)
