"""Which report files a run writes and what they are called, run through the real CLI.

`mlops gate all` / `mlops release` write report.*; one gate alone writes report-<gate>.*, so gates
run one by one keep each report; `mlops report` re-renders under the same name; the monitor's
report is titled as a monitor run; wrong arguments are usage errors (exit 2).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.monitor.monitor_helpers import NOW, data_rows, records, write_jsonl
from tests.projects import breast_cancer_project
from tests.specs import REMOVE

MLOPS = str(Path(sys.executable).parent / "mlops")


def mlops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLOPS, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def project(tmp_path: Path, changes: Mapping[str, Any] | None = None) -> Path:
    """The breast-cancer project (spec with `changes`, data, model)."""
    return breast_cancer_project(tmp_path, changes, models=True)


def test_one_gate_alone_writes_reports_named_after_it(tmp_path: Path) -> None:
    spec = project(tmp_path)
    result = mlops("gate", "data", str(spec), "--report-dir", "reports", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "junit-data.xml", "report-data.html", "report-data.json", "report-data.md"]
    (reports / "report-data.md").unlink()
    again = mlops("report", "reports/report-data.json", "--format", "md", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, "wrote reports/report-data.md\n")
    assert (reports / "report-data.md").read_text().splitlines()[1].startswith(
        "## ✅ mlops release gates for `breast-cancer`: passed")


def test_a_file_that_is_not_a_report_is_a_usage_error(tmp_path: Path) -> None:
    project(tmp_path)
    result = mlops("report", "data/train.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("data/train.csv: not an mlops gate report: ")
    missing = mlops("report", "reports/nothing.json", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "reports/nothing.json: file not found\n")


def test_the_monitor_report_is_titled_as_a_monitor_run(tmp_path: Path) -> None:
    spec = project(tmp_path)
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(data_rows("current.csv"), NOW - 60))
    result = mlops("monitor", "run", str(spec), "--no-push", "--log-dir", "logs",
                   "--report-dir", "out", "--now", str(NOW), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    heading = (tmp_path / "out" / "report.md").read_text().splitlines()[1]
    assert heading.startswith("## ⚠️ mlops monitor for `breast-cancer`: no alert, with warnings")
    assert "<h1>" in (html := (tmp_path / "out" / "report.html").read_text())
    assert "mlops monitor: breast-cancer</h1>" in html and "release gates" not in html
    assert json.loads((tmp_path / "out" / "report.json").read_text())["kind"] == "monitor"
    assert 'name="mlops monitor: breast-cancer"' in (tmp_path / "out" / "junit.xml").read_text()


def test_feedback_without_a_performance_monitor_is_a_usage_error(tmp_path: Path) -> None:
    spec = project(tmp_path, {"monitors.performance": REMOVE})
    result = mlops("monitor", "run", str(spec), "--no-push", "--feedback", "labels.csv",
                   cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"--feedback labels.csv: {spec} sets no monitors.performance, so no "
                             "live metric reads labels\n")
    config = tmp_path / "generated" / "monitoring" / "monitor.yaml"
    assert mlops("compile", str(spec), cwd=tmp_path).returncode == 0
    with_config = mlops("monitor", "run", str(spec), "--no-push", "--config", str(config),
                        "--feedback", "labels.csv", cwd=tmp_path)
    assert (with_config.returncode, with_config.stderr) == (
        2, f"--feedback labels.csv: {config} has no performance section, so no live metric reads "
           "labels\n")
