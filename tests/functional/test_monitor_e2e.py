"""The monitor loop for real: `mlops serve` logs real traffic, `mlops monitor run` judges it.

Drifted traffic (ten features of data/current.csv moved by 3 reference sd) must raise the drift
alert naming exactly those features (exit 1); reference traffic must not (exit 0). Both phases go to
one server and one log file and are told apart by --now/--window, as an hourly job sees them.
After the traffic, every metric used by a generated rule is in a real /metrics scrape or in the
monitor's textfile.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.monitor.monitor_helpers import MLOPS, ROOT, SHIFTED, data_rows, shifted
from tests.serving.serve_helpers import Server
from tests.specs import breast_cancer, changed, write_spec

pytestmark = pytest.mark.slow
def _project(tmp: Path) -> Path:
    """The breast-cancer spec with every request logged to tmp/logs; the example's data, model
    and generated files."""
    for folder in ("data", "models", "generated"):
        (tmp / folder).symlink_to(ROOT / folder)
    log = {"path": str(tmp / "logs"), "sample_rate": 1.0, "format": "jsonl"}
    return write_spec(tmp / "mlops.yaml", changed(breast_cancer(), {"serving.request_log": log}))


def _send(server: Server, rows: list[dict[str, float]], prefix: str) -> None:
    for index, row in enumerate(rows):
        instance = {k: v for k, v in row.items() if k != "label"}
        reply = server.request("POST", "/predict", {"instances": [instance]},
                               headers={"X-Request-ID": f"{prefix}{index}"})
        assert reply.status == 200, reply.body


def _wait_logged(folder: Path, rows: int, timeout: float = 15) -> None:
    """The server flushes its log once a second from a background thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logged = sum(len(p.read_bytes().splitlines()) for p in folder.glob("*.jsonl"))
        if logged >= rows:
            return
        time.sleep(0.2)
    raise AssertionError(f"{rows} rows not logged in {timeout}s")


def _monitor(spec: Path, start: float, end: float, *args: str) -> subprocess.CompletedProcess[str]:
    window = math.ceil(end - start) + 1
    return subprocess.run([MLOPS, "monitor", "run", str(spec), "--no-push", "--window", f"{window}s",
                           "--now", f"{end:.3f}", *args], capture_output=True, text=True,
                          cwd=spec.parent, timeout=180)


def _rule_metrics() -> set[str]:
    rules = (ROOT / "generated" / "monitoring" / "rules.yaml").read_text()
    names = set()
    for expr in re.findall(r"^\s+expr: (.*)$", rules, flags=re.MULTILINE):
        for name in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", expr):
            names.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return names


def test_drifted_traffic_alerts_and_reference_traffic_does_not(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    drifted = shifted(data_rows("current.csv"))
    reference = data_rows("train.csv")[:150]
    server = Server(spec, "--no-access-log")
    try:
        started = time.time()
        _send(server, drifted, "drift-")
        drift_end = time.time()
        _wait_logged(tmp_path / "logs", len(drifted))
        time.sleep(2.5)  # the reference phase's window must not reach back into this one
        reference_start = time.time()
        _send(server, reference, "ref-")
        reference_end = time.time()
        _wait_logged(tmp_path / "logs", len(drifted) + len(reference))
        scrape = server.metrics()
    finally:
        assert server.stop() == 0, server.output()

    alert = _monitor(spec, started, drift_end + 0.1, "--report-dir", str(tmp_path / "drift"))
    names = ", ".join(f for f in data_rows("current.csv")[0] if f in SHIFTED)
    assert alert.returncode == 1, alert.stdout + alert.stderr
    assert alert.stdout.splitlines()[0] == (
        "breast-cancer: ALERT (1): drift.dataset: drifted feature fraction (10 of 30) 0.3333, "
        f"configured to fail when above 0.3; drifted: {names}")
    drift_report = json.loads((tmp_path / "drift" / "report.json").read_text())
    (window,) = [c for c in drift_report["gates"][0]["checks"] if c["name"] == "window"]
    assert window["observed"] == len(drifted)

    feedback = tmp_path / "feedback.csv"
    feedback.write_text("request_id,row,label\n" + "".join(
        f"ref-{i},0,{int(row['label'])}\n" for i, row in enumerate(reference)) + "lost-1,0,1\n")
    calm = _monitor(spec, reference_start, reference_end + 0.1, "--feedback", str(feedback),
                    "--report-dir", str(tmp_path / "calm"))
    assert calm.returncode == 0, calm.stdout + calm.stderr
    assert calm.stdout.splitlines()[0] == "breast-cancer: no alert"
    checks = {c["name"]: c for c in json.loads(
        (tmp_path / "calm" / "report.json").read_text())["gates"][0]["checks"]}
    assert checks["window"]["observed"] == len(reference)
    assert checks["drift.dataset"]["observed"] == 0
    assert checks["prediction.score"]["status"] == "pass", checks["prediction.score"]["message"]
    assert checks["performance.accuracy"]["status"] == "pass"
    assert checks["feedback"]["message"] == (
        "feedback.csv: 150 of 151 feedback rows joined to logged predictions; 1 name no logged "
        "request in the window and are ignored: 'lost-1' row 0 (feedback.csv:152)")

    textfile = (tmp_path / "calm" / "metrics.prom").read_text()
    exported = set(re.findall(r"^# TYPE (\S+) ", scrape + textfile, flags=re.MULTILINE))
    used = _rule_metrics()
    assert len(used) >= 5
    assert used <= exported, f"rule metrics nowhere exported: {sorted(used - exported)}"
