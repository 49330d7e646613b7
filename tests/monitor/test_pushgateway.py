"""The push to a real Pushgateway (Debian's prometheus-pushgateway), and a clear warning when it is
unreachable. The run's verdict never depends on the push."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from mlops.harness.monitor import EXIT_ALERT, run_monitor
from tests.monitor.monitor_helpers import NOW, config, data_rows, records, root_spec, shifted, write_jsonl
from tests.tooling import require_tool

pytestmark = pytest.mark.tools


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_results_reach_a_real_pushgateway(tmp_path: Path) -> None:
    binary = require_tool("prometheus-pushgateway")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _get(f"{url}/-/ready")
                break
            except OSError:
                assert time.monotonic() < deadline, "pushgateway not ready"
                time.sleep(0.1)
        write_jsonl(tmp_path / "logs" / "r.jsonl",
                    records(shifted(data_rows("current.csv")), NOW - 60))
        result = run_monitor(root_spec(), replace(config(tmp_path), pushgateway=url), NOW)
        assert result.exit_code == EXIT_ALERT
        pushed = _get(f"{url}/metrics")
        pushed_lines = pushed.splitlines()
        assert ('mlops_drifted_features_fraction{instance="",job="mlops-monitor",'
                'model="breast-cancer"} 0.3333333333333333') in pushed_lines
        assert [line for line in pushed_lines if line.startswith(
            'mlops_drift_score{feature="mean_radius",instance="",job="mlops-monitor",method="psi",'
            'model="breast-cancer"} ')]
    finally:
        gateway.terminate()
        gateway.wait(10)


def test_an_unreachable_pushgateway_is_a_warning(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(data_rows("train.csv")[:60], NOW - 60))
    result = run_monitor(root_spec(), replace(config(tmp_path), pushgateway=url), NOW)
    (check,) = [c for c in result.report.gates[0].checks if c.name == "metrics.push"]
    assert check.status == "warn"
    assert check.message == (f"Pushgateway: cannot reach {url}/metrics/job/mlops-monitor/model/"
                             "breast-cancer: [Errno 111] Connection refused")
