"""The retrain workflow's training job, replayed in a fresh virtualenv on a team's repository:
it trains on the data the spec names, fingerprints that data, runs every gate, and hands a
pull request its model only when every gate passed (the pull request job, which pushes with a
token, is not replayed: it needs GitHub).

The team's repository has a bare `origin` holding `main`, so the model gate's baseline
(`origin/main`) is the committed model, as on GitHub. pip installs without byte-compiling
(tests.tooling.NO_COMPILE): the same distributions, sooner. Replays of one install line share
its install (tests/replay_venvs.py): each starts from a pristine copy of the venv as that line
left it and runs the install step again.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlops.compiler.compile import prepare, write
from tests.projects import breast_cancer_project, files_of, git, make_repository
from tests.replay_venvs import VenvCache
from tests.specs import REMOVE
from tests.tooling import NO_COMPILE
from tests.workflow_replay import ReplayResult, replay

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ".github/workflows/mlops-breast-cancer-retrain.yml"
DATA = ("data/train.csv", "data/test.csv", "data/current.csv")
# Timing SLOs measure this machine's CPU, not the workflow (as in the PR workflow's replay).
RELAXED: dict[str, Any] = {
    "benchmark.thresholds": {"p95_ms@1": "< 1000", "rows_per_s@64": "> 1"},
    "load.thresholds": {"p95_ms": "< 5000", "error_rate": "< 0.01", "rps": "> 1"},
    "benchmark.max_slowdown": REMOVE,
}
BEFORE_THE_GATES = [
    "Install mlops and what install.requirements and install.packages name", "Train",
    "Validate the spec with the new model",
    "Fingerprint the data the model was trained and gated on", "Run the release gates",
    "Write the retrain report"]


def team_repository(folder: Path, changes: dict[str, Any], fresh_rows: int) -> Path:
    """The breast-cancer project with its committed model, training code and checks, compiled
    and pushed; the committed training split then loses its last `fresh_rows` rows (a new batch
    of labelled data the committed model was not trained on)."""
    build = folder.with_name(folder.name + "-build")
    spec = breast_cancer_project(build, {**RELAXED, **changes}, models=True)
    for name in ("examples/breast_cancer", "checks"):
        shutil.copytree(ROOT / name, build / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    write(prepare([spec]))
    train = build / "data" / "train.csv"
    lines = train.read_text().splitlines(keepends=True)
    train.write_text("".join(lines[:len(lines) - fresh_rows]))
    return make_repository(folder, files_of(build))


def retrain(tmp_path: Path, wheel: Path, venvs: VenvCache, changes: dict[str, Any]
            ) -> tuple[Path, Path, ReplayResult]:
    """Replay the retrain job with mlops from `wheel`; returns (repository, the job's RUNNER_TEMP,
    result)."""
    project = team_repository(tmp_path / "team", changes, fresh_rows=40)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    result = replay(project / WORKFLOW, project, wheel.parent, job="retrain",
                    env={**NO_COMPILE, "RUNNER_TEMP": str(runner_temp)}, venvs=venvs)
    return project, runner_temp, result


def fingerprints(project: Path) -> list[str]:
    """`sha256sum` lines of the data the spec names, computed here."""
    return [f"{hashlib.sha256((project / f).read_bytes()).hexdigest()}  {f}" for f in DATA]


def test_a_passing_retrain_hands_its_model_and_data_fingerprints_to_the_pull_request(
        tmp_path: Path, wheel: Path, replay_venvs: VenvCache) -> None:
    project, runner_temp, result = retrain(tmp_path, wheel, replay_venvs, {})
    assert result.ok, str(result)
    assert [s.name for s in result.steps if s.ran] == [
        *BEFORE_THE_GATES, "Keep the new model for the pull request"]
    reports = project / "reports"
    assert (reports / "data.sha256").read_text().splitlines() == fingerprints(project)
    description = (runner_temp / "pull-request" / "description.md").read_text()
    assert description == (reports / "retrain.md").read_text()
    for line in fingerprints(project):
        digest, file = line.split("  ")
        assert f"| `{file}` | `{digest}` |" in description
    assert "<!-- mlops-report:breast-cancer -->" in description  # the gate report follows
    assert description in result.summary
    # The patch the pull request job applies holds exactly the retrained model.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "team.origin.git"), str(clone))
    git(clone, "apply", "--index", str(runner_temp / "pull-request" / "model.patch"))
    assert git(clone, "diff", "--cached", "--name-only").split() == [
        "models/model.joblib", "models/model.onnx"]
    for model in ("models/model.onnx", "models/model.joblib"):
        assert (clone / model).read_bytes() == (project / model).read_bytes(), model


def test_failing_gates_open_no_pull_request_and_keep_the_report(
        tmp_path: Path, wheel: Path, replay_venvs: VenvCache) -> None:
    project, runner_temp, result = retrain(tmp_path, wheel, replay_venvs,
                                           {"metrics.accuracy": ">= 0.9999"})
    assert not result.ok
    assert [s.name for s in result.steps if s.ran] == BEFORE_THE_GATES
    assert result.step("Run the release gates").returncode == 1
    assert result.step("Keep the new model for the pull request").note == "skipped (if: success())"
    assert not (runner_temp / "pull-request").exists()  # nothing for the pull request job
    report = (project / "reports" / "retrain.md").read_text()
    assert "accuracy" in report and "| `data/train.csv` |" in report
    assert report in result.summary
