"""This repository's own pull request workflow, replayed step by step in a fresh virtualenv that
installs exactly what the workflow installs, with mlops itself from a wheel of this checkout.

The project is what a team's repository holds (the spec, data, model, training code, checks and
generated files), none of this repository's source: a stage that quietly needs a package the
workflow does not install (the sklearn parity check's joblib, say) fails here as on GitHub. pip
installs without byte-compiling (tests.tooling.NO_COMPILE): the same distributions, sooner.
Replays of one install line share its install (tests/replay_venvs.py): each starts from a
pristine copy of the venv as that line left it and runs the install step again.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlops.compiler.compile import prepare, write
from tests.replay_venvs import VenvCache
from tests.specs import REMOVE, breast_cancer, changed, write_spec
from tests.tooling import NO_COMPILE
from tests.workflow_replay import replay

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TEAM_FILES = ("data", "models", "examples/breast_cancer", "checks")
# Timing SLOs measure this machine's CPU, not the workflow: relaxed so the replay proves only
# that every stage runs with what the workflow installs.
RELAXED = {
    "benchmark.thresholds": {"p95_ms@1": "< 1000", "rows_per_s@64": "> 1"},
    "load.thresholds": {"p95_ms": "< 5000", "error_rate": "< 0.01", "rps": "> 1"},
    "benchmark.max_slowdown": REMOVE,
}


def team_repository(destination: Path) -> Path:
    """The breast-cancer project as a team's repository of its own: the example's files and
    the suite's spec (relaxed SLOs), compiled, committed."""
    for name in TEAM_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, destination / name)
    spec = write_spec(destination / "mlops.yaml", changed(breast_cancer(), RELAXED))
    write(prepare([spec]))
    for command in (["init", "--quiet", "--initial-branch", "main"], ["add", "--all"],
                    ["-c", "user.name=team", "-c", "user.email=team@example.com", "commit",
                     "--quiet", "--message", "the team's repository"]):
        subprocess.run(["git", *command], cwd=destination, check=True, capture_output=True)
    return destination


def test_the_pull_request_workflow_runs_with_exactly_what_it_installs(
        tmp_path: Path, wheel: Path, replay_venvs: VenvCache) -> None:
    version = wheel.name.split("-")[1]  # name-version-python-abi-platform.whl
    project = team_repository(tmp_path / "team")
    workflow = project / ".github" / "workflows" / "mlops-breast-cancer-pr.yml"
    result = replay(workflow, project, wheel.parent, job="gates", env=NO_COMPILE,
                    venvs=replay_venvs)
    assert result.ok, str(result)
    assert [step.name for step in result.steps if step.ran] == [
        "Install mlops", "Validate the spec", "Check the generated files are up to date",
        "Run the release gates", "Write the step summary"]
    # mlops came from the checkout's wheel; the parity check's stack from the workflow's install.
    assert result.installed["mlops-yaml"] == version
    assert {"scikit-learn", "joblib", "onnxruntime", "locust"} <= set(result.installed)
    assert "torch" not in result.installed
    gates = result.step("Run the release gates").output
    assert "ModuleNotFoundError" not in gates and "Traceback" not in gates
    assert "<!-- mlops-report:breast-cancer -->" in result.summary
    assert (project / "reports" / "report.md").is_file()
