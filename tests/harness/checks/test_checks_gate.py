"""The checks gate: a team's pytest checks run in a subprocess, each test one check; whatever
keeps them from running is a located error, never a hang or a traceback from mlops."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from mlops.harness.checks.gate import ChecksGate
from mlops.harness.gate import GateOptions
from mlops.harness.result import GateResult
from mlops.spec.loader import load_spec
from tests.projects import ROOT, breast_cancer_project
from tests.specs import REMOVE, location

TEAM_CHECKS = '''\
import pytest


@pytest.mark.data
def test_enough_test_rows(test_data):
    rows = len(test_data)
    assert rows >= 1000, f"only {rows} test rows"


@pytest.mark.model
def test_benign_case(model):
    assert model.predict({name: 0.0 for name in model.features})[0] in (0, 1)


def test_not_yet():
    pytest.skip("waiting for labels")
'''


def project(folder: Path, files: dict[str, str]) -> Path:
    """The example (spec, data, model) plus `files` ({spec-relative path: content})."""
    spec = breast_cancer_project(folder)
    shutil.copytree(ROOT / "models", folder / "models", dirs_exist_ok=True)
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(content)
    return spec


def run(spec: Path, gate: ChecksGate | None = None) -> GateResult:
    return (gate or ChecksGate()).run(load_spec(spec, check_files=False), GateOptions())


def outcomes(result: GateResult) -> list[tuple[str, str, str]]:
    return [(c.name, c.status, c.message) for c in result.checks]


def test_a_failing_team_check_fails_the_gate_in_every_report(tmp_path: Path) -> None:
    spec = project(tmp_path / "p", {"checks/test_team.py": TEAM_CHECKS})
    done = subprocess.run([sys.executable, "-m", "mlops", "gate", "checks", str(spec),
                           "--report-dir", "out"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "CI": "true"}, timeout=300)
    failing = "checks/test_team.py::test_enough_test_rows"
    message = ("checks/test_team.py:7: AssertionError: only 114 test rows\n"
               "assert 114 >= 1000")
    assert done.returncode == 1, done.stderr
    assert done.stdout == f"breast-cancer: FAILED (1 failing checks: checks/{failing})\n"
    saved = json.loads((tmp_path / "out/report-checks.json").read_text())
    (gate,) = saved["gates"]
    assert [(c["name"], c["status"], c["message"]) for c in gate["checks"]] == [
        (failing, "fail", message),
        ("checks/test_team.py::test_benign_case", "pass", "passed"),
        ("checks/test_team.py::test_not_yet", "skip", "skipped: waiting for labels"),
    ]
    markdown = (tmp_path / "out/report-checks.md").read_text()
    assert (f"- ❌ `{failing}`: checks/test_team.py:7: AssertionError: only 114 test rows "
            "assert 114 &gt;= 1000\n") in markdown
    html = (tmp_path / "out/report-checks.html").read_text()
    assert ("<td>checks/test_team.py:7: AssertionError: only 114 test rows\nassert 114 &gt;= 1000"
            "</td>") in html
    junit = ET.parse(tmp_path / "out/junit-checks.xml").getroot()
    (case,) = [c for c in junit.iter("testcase") if c.get("name") == failing]
    assert case.find("failure").get("message") == message  # type: ignore[union-attr]


def test_no_checks_section_skips(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path, {"checks": REMOVE})
    assert outcomes(run(spec)) == [(
        "checks", "skip", f"no checks section in {spec}; add `checks: {{path: checks}}` to run the "
                          "team's own pytest checks")]


def test_a_missing_folder_is_located_in_the_spec(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path)
    where = location(spec.read_text(), "checks.path")
    assert outcomes(run(spec)) == [
        ("checks.path", "error", f"{spec}:{where}: checks.path: folder not found: checks")]


def test_a_syntax_error_is_located_and_the_other_files_still_run(tmp_path: Path) -> None:
    spec = project(tmp_path, {"checks/test_broken.py": "import os\n\ndef test_x(:\n    pass\n",
                              "checks/test_fine.py": "def test_fine():\n    assert True\n"})
    assert outcomes(run(spec)) == [
        ("checks/test_broken.py", "error", "checks/test_broken.py:3: SyntaxError: invalid syntax "
                                           "(collecting checks/test_broken.py failed, so none of "
                                           "its tests ran)"),
        ("checks/test_fine.py::test_fine", "pass", "passed"),
    ]


def test_an_import_error_in_a_check_file_is_located(tmp_path: Path) -> None:
    spec = project(tmp_path, {"checks/test_imports.py": "import os\nimport acme_missing\n"})
    assert outcomes(run(spec)) == [(
        "checks/test_imports.py", "error",
        "checks/test_imports.py:2: ModuleNotFoundError: No module named 'acme_missing' "
        "(collecting checks/test_imports.py failed, so none of its tests ran)")]


def test_a_conftest_raising_on_import_is_reported(tmp_path: Path) -> None:
    spec = project(tmp_path, {"checks/conftest.py": "import os\nraise RuntimeError('no access')\n",
                              "checks/test_fine.py": "def test_fine():\n    pass\n"})
    (check,) = run(spec).checks
    assert (check.name, check.status, check.message) == (
        "pytest", "error",
        "pytest could not run the checks in checks (exit code 4): ImportError while loading "
        "conftest 'checks/conftest.py'.; checks/conftest.py:2: RuntimeError: no access")


def test_a_plugin_raising_on_import_is_reported(tmp_path: Path) -> None:
    spec = project(tmp_path, {"checks/conftest.py": "pytest_plugins = ['team_plugin']\n",
                              "team_plugin.py": "import os\n\nraise ValueError('bad setting')\n",
                              "checks/test_fine.py": "def test_fine():\n    pass\n"})
    (check,) = run(spec).checks
    assert (check.name, check.status, check.message) == (
        "pytest", "error",
        "pytest could not run the checks in checks (exit code 3): Error while loading plugin "
        "\"team_plugin\".; team_plugin.py:3: ValueError: bad setting")


def test_a_folder_without_tests_is_an_error(tmp_path: Path) -> None:
    spec = project(tmp_path, {"checks/helpers.py": "LIMIT = 3\n"})
    assert outcomes(run(spec)) == [(
        "pytest", "error", "pytest found no tests in checks (files named test_*.py or *_test.py, "
                           "functions named test_*)")]


def test_a_hanging_check_is_stopped_and_named(tmp_path: Path) -> None:
    # The timeout must outlast pytest's start-up, which a busy machine makes several times slower
    # (8-15 s measured here with other suites running): time the quick check alone, allow 3x.
    quick = project(tmp_path / "quick", {"checks/test_quick.py": "def test_quick():\n    pass\n"})
    started = time.monotonic()
    assert outcomes(run(quick)) == [("checks/test_quick.py::test_quick", "pass", "passed")]
    timeout = max(8, math.ceil(3 * (time.monotonic() - started)))
    spec = project(tmp_path / "hanging", {"checks/test_slow.py": (
        "import time\n\ndef test_quick():\n    pass\n\ndef test_sleeps():\n    time.sleep(600)\n")})
    started = time.monotonic()
    result = run(spec, ChecksGate(timeout_s=timeout))
    assert time.monotonic() - started < timeout + 30  # stopped, not left to sleep its 600 s
    assert outcomes(result) == [(
        "pytest", "error", f"the checks in checks did not finish within {timeout} s while running "
                           "checks/test_slow.py::test_sleeps; pytest was stopped")]
