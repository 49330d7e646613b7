"""`mlops monitor run` as the workflow and the CronJob call it: exit codes and exact messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.monitor.monitor_helpers import MLOPS, NOW, ROOT, data_rows, records, shifted, write_jsonl


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The example names an in-cluster Pushgateway; tests stay on this machine (--no-push)."""
    return subprocess.run([MLOPS, "monitor", "run", str(ROOT / "mlops.yaml"), "--no-push", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=180)


def test_cronjob_command_with_the_generated_config_alerts_with_exit_1(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(shifted(data_rows("current.csv")), NOW - 60))
    result = _run("--config", str(ROOT / "generated" / "monitoring" / "monitor.yaml"),
                  "--report-dir", str(tmp_path / "out"), "--log-dir", str(tmp_path / "logs"),
                  "--now", str(NOW), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("breast-cancer: ALERT (1): drift.dataset: drifted feature "
                                    "fraction (10 of 30) 0.3333")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "junit.xml", "metrics.prom", "report.html", "report.json", "report.md"]


def test_missing_log_folder_exits_2_with_the_reason(tmp_path: Path) -> None:
    result = _run("--log-dir", str(tmp_path / "nowhere"), "--report-dir", str(tmp_path / "out"),
                  cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        "breast-cancer: the monitor could not run",
        "  skip: performance.accuracy: data/feedback.csv not found: live accuracy not computed "
        "(no labels have arrived yet)",
        f"  error: window: request log folder {tmp_path / 'nowhere'} not found: is "
        "serving.request_log.path mounted here? (or pass --log-dir)"]


def test_empty_window_exits_0_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    result = _run("--log-dir", str(tmp_path / "logs"), "--report-dir", str(tmp_path / "out"),
                  "--now", "2026-11-02T14:00:00Z", "--window", "30m", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "breast-cancer: no alert"
    assert lines[2] == (
        f"  warn: window: no requests logged between 2026-11-02T13:30:00Z and 2026-11-02T14:00:00Z "
        f"in {tmp_path / 'logs'}: nothing to compare; an empty window is not an alert")


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    window = _run("--window", "soon", cwd=tmp_path)
    now = _run("--now", "teatime", cwd=tmp_path)
    assert (window.returncode, now.returncode) == (2, 2)
    assert "Invalid value for '--window': expected a duration like '20s' or '5m', got 'soon'" in (
        window.stderr)
    assert ("Invalid value for '--now': expected Unix seconds or an ISO 8601 time such as "
            "2026-11-02T14:00:00Z, got 'teatime'") in now.stderr


def test_a_broken_spec_exits_2_not_1(tmp_path: Path) -> None:
    result = subprocess.run([MLOPS, "monitor", "run", "nope.yaml"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert (result.returncode, result.stderr.strip()) == (2, "nope.yaml:1:1: file not found")
