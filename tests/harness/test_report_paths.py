"""No report names a path of the machine that made it: `mlops release` on a repository without a
baseline (every gate says why it skipped), run from outside the repository with the spec and the
report folder given as absolute paths, the worst case for leaking them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.load.test_load_gate import LOAD
from tests.harness.model_helpers import commit_all, project
from tests.harness.report_paths import absolute_paths
from tests.projects import ROOT


@pytest.mark.slow
def test_no_report_format_names_an_absolute_path(tmp_path: Path) -> None:
    spec = project(tmp_path / "repo", {"load": LOAD, "checks": {"path": "checks"}})
    shutil.copytree(ROOT / "checks", spec.parent / "checks")
    compiled = subprocess.run([sys.executable, "-m", "mlops", "compile", str(spec)],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    commit_all(spec.parent)  # main only: origin/main, the baseline, does not exist
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "mlops", "release", str(spec), "--report-dir",
                           str(out)], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={**os.environ, "CI": "true"})  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = (out / "report.md").read_text()
    assert "not compared with a baseline: git ref 'origin/main' does not exist in this " in report
    assert "`mlops.yaml` at `" in report
    assert absolute_paths(out, tmp_path) == []
