"""A team repository with packages named like ours (`spec/`, `serving/`, ... are common in ML
repositories), with that folder first on sys.path (`python -m`, PYTHONPATH, the pytest run of
`mlops gate checks`): every command uses mlops' own modules and never imports the team's, and the
team's checks still import the team's own packages beside mlops' fixtures.

Each of the team's packages appends its name to imports.log when it is imported, so an import of
the wrong `spec` or `serving` shows in the log, whatever it would have broken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.spec.loader import load_spec
from tests.projects import breast_cancer_project, files_of, make_repository
from tests.serving.serve_helpers import Server

OURS = ("core", "spec", "compiler", "harness", "serving", "cli")
RECORDS_ITS_IMPORT = '''\
from pathlib import Path

with (Path(__file__).resolve().parents[1] / "imports.log").open("a") as log:
    log.write(__name__ + "\\n")
TEAM_PACKAGE = True
'''
TEAM_PACKAGES = {
    **{f"{name}/__init__.py": RECORDS_ITS_IMPORT for name in OURS},
    "spec/models.py": "class Spec:\n    \"\"\"The team's own request schema.\"\"\"\n",
    "serving/app.py": "def handler() -> str:\n    return 'the team serves this'\n",
}
TEAM_CHECK = '''\
import sys

import serving
from serving.app import handler


def test_the_team_imports_its_own_serving_package():
    assert serving.TEAM_PACKAGE and handler() == "the team serves this"


def test_mlops_fixtures_run_on_mlops_modules(model, test_data, server):
    rows = test_data.head(4)
    assert [p["label"] for p in server.predict(rows)] == [
        model.classes[i] for i in model.predict(rows)]
    assert "mlops.spec.models" in sys.modules and "spec" not in sys.modules
'''


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The breast-cancer project with the team's packages and checks, in a repository of its own
    (origin/main holds the model, the model gate's baseline)."""
    staging = breast_cancer_project(tmp_path_factory.mktemp("staging"),
                                    {"metrics.robustness.examples": 20}, models=True)
    files = {**files_of(staging.parent), **TEAM_PACKAGES, "checks/test_team.py": TEAM_CHECK}
    return make_repository(tmp_path_factory.mktemp("team") / "repo", files)


def mlops(team: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mlops` from the team's folder, which is also on PYTHONPATH: that folder comes
    first on sys.path, before mlops itself."""
    env = {**os.environ, "PYTHONPATH": str(team), "CI": "true"}
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=team, env=env,
                          capture_output=True, text=True, timeout=600)


def team_imports(team: Path) -> list[str]:
    """The team's packages imported since the last call."""
    log = team / "imports.log"
    imported = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return imported


GATE_DATA = ("gate", "data", "mlops.yaml", "--report-dir", "reports")


@pytest.mark.parametrize("commands", [
    [("validate", "mlops.yaml")],
    [("compile", "mlops.yaml"), ("compile", "--check", "mlops.yaml")],
    [GATE_DATA],
    [("gate", "model", "mlops.yaml", "--report-dir", "reports")],
    [GATE_DATA, ("report", "reports/report-data.json", "--format", "md")],
    [("plugins",)],
], ids=lambda commands: " ".join(commands[-1][:2]))
def test_every_command_uses_mlops_modules_only(team: Path,
                                               commands: list[tuple[str, ...]]) -> None:
    team_imports(team)
    for command in commands:
        done = mlops(team, *command)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    assert team_imports(team) == []


def test_serve_uses_mlops_modules_only(team: Path) -> None:
    team_imports(team)
    features = load_spec(team / "mlops.yaml", check_files=False).spec.data.features
    server = Server(team / "mlops.yaml", env={"PYTHONPATH": str(team)})
    try:
        reply = server.request("POST", "/predict", {"instances": [dict.fromkeys(features, 1.0)]})
        assert reply.status == 200, reply.body
    finally:
        assert server.stop() == 0, server.output()
    assert team_imports(team) == []


def test_the_checks_gate_runs_the_team_checks_on_mlops_fixtures(team: Path) -> None:
    team_imports(team)
    done = mlops(team, "gate", "checks", "mlops.yaml", "--report-dir", "reports")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((team / "reports/report-checks.json").read_text())
    assert [(c["name"], c["status"]) for c in report["gates"][0]["checks"]] == [
        ("checks/test_team.py::test_the_team_imports_its_own_serving_package", "pass"),
        ("checks/test_team.py::test_mlops_fixtures_run_on_mlops_modules", "pass"),
    ]
    assert team_imports(team) == ["serving"]  # by the team's own check, not by mlops
