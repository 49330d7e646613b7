"""The generated locustfile is lint-clean and really runs: Locust (a subprocess, never imported
here: it monkey-patches the standard library) against a small real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlops.compiler.compile import prepare, write
from tests.compiler.compiler_helpers import CASES, VENV_BIN, copy_case, find_tool, run_tool
from tests.specs import edit_spec

LOCUSTFILE = "generated/load/locustfile.py"


class PredictHandler(BaseHTTPRequestHandler):
    """Answers POST /predict like the server: one prediction per instance, or an error."""

    protocol_version = "HTTP/1.1"
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ok = self.path == "/predict" and isinstance(body.get("instances"), list)
        status = 500 if self.fail or not ok else 200
        payload = json.dumps({"predictions": [0] * len(body.get("instances", []))}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.server.rows.extend(body.get("instances", []))  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads Locust's output, not the server's."""


LOCUST_ENV = {**os.environ, "PYTHONPATH": "", "PYTHONDONTWRITEBYTECODE": "1"}
"""Locust imports the locustfile: no __pycache__ beside it in a tree other tests read."""


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), PredictHandler)
    httpd.rows = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run_locust(locustfile: Path, port: int, seconds: int = 3) -> subprocess.CompletedProcess[str]:
    find_tool("locust", "pip install 'mlops-yaml[load]', or `make setup`")
    command = [str(VENV_BIN / "locust"), "-f", str(locustfile), "--headless", "-u", "2", "-r", "2",
               "-t", f"{seconds}s", "-H", f"http://127.0.0.1:{port}", "--only-summary"]
    return subprocess.run(command, cwd=locustfile.parent, capture_output=True, text=True,
                          timeout=120, env=LOCUST_ENV, check=False)


@pytest.mark.parametrize("case", sorted(CASES))
def test_locustfile_is_ruff_clean(case: str, compiled: Callable[[str], Path]) -> None:
    ruff = find_tool("ruff", "pip install ruff, or `make setup`")
    locustfiles = sorted(compiled(case).rglob("locustfile.py"))
    assert len(locustfiles) == 1
    rules = ["--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF", "--line-length", "100",
             "--target-version", "py311"]
    lint = run_tool([ruff, "check", "--no-cache", *rules, str(locustfiles[0])])
    assert lint.returncode == 0, lint.stdout
    compile(locustfiles[0].read_text(), str(locustfiles[0]), "exec")  # no .pyc in the shared tree


def test_locustfile_reads_the_spec_thresholds(compiled: Callable[[str], Path]) -> None:
    text = (compiled("canary-argocd") / LOCUSTFILE).read_text()
    assert 'Slo("p95_ms", "<", 50.0, "error", "p95 latency", " ms", "at or above 50 ms")' in text
    assert 'Slo("rps", ">", 100.0, "error", "throughput", " requests/s", ' in text
    assert 'host = "http://127.0.0.1:8080"' in text
    conf = (compiled("canary-argocd") / "generated/load/locust.conf").read_text()
    assert "users = 20\nspawn-rate = 10\nrun-time = 20s\n" in conf


@pytest.mark.slow
def test_locust_runs_the_generated_file_and_meets_its_slos(
        tmp_path: Path, server: ThreadingHTTPServer) -> None:
    spec = copy_case("canary-argocd", tmp_path)
    edit_spec(spec, {"load.thresholds.rps": "> 1", "load.thresholds.p95_ms": "< 2000",
                     "load.thresholds.p99_ms": "< 5000"})
    write(prepare([spec]))
    result = run_locust(tmp_path / LOCUSTFILE, server.server_address[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SLO met: p95 latency" in result.stdout
    assert "SLO failed" not in result.stdout
    rows = server.rows  # type: ignore[attr-defined]
    assert rows and set(rows[0]) == {"tenure_months", "monthly_spend", "plan"}
    assert isinstance(rows[0]["tenure_months"], int) and rows[0]["plan"] in {"basic", "plus", "pro"}


@pytest.mark.slow
def test_locust_fails_when_an_slo_fails(tmp_path: Path, server: ThreadingHTTPServer) -> None:
    spec = copy_case("canary-argocd", tmp_path)
    edit_spec(spec, {"load.thresholds.rps": "> 1000000"})
    write(prepare([spec]))
    result = run_locust(tmp_path / LOCUSTFILE, server.server_address[1])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SLO failed: throughput" in result.stdout
    assert "configured to fail at or below 1000000 requests/s" in result.stdout


@pytest.mark.slow
def test_locust_counts_server_errors_against_the_error_rate(
        tmp_path: Path, server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PredictHandler, "fail", True)
    spec = copy_case("regression", tmp_path)
    write(prepare([spec]))
    result = run_locust(tmp_path / "deploy/generated/load/locustfile.py",
                        server.server_address[1], seconds=2)
    # error_rate is a warning in this spec, so p50 decides; every request failed with HTTP 500
    assert "SLO warning: error rate 1, configured to fail above 0.001" in result.stdout, result.stderr[-3000:]
    rows = server.rows  # type: ignore[attr-defined]
    assert rows and len(rows) % 4 == 0 and set(rows[0]) == {"area_m2", "age_years", "rooms",
                                                             "has_garden"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_master_decides_and_workers_stay_quiet(tmp_path: Path,
                                               server: ThreadingHTTPServer) -> None:
    """Distributed mode (`load.workers`): the SLO hook runs on the master only."""
    find_tool("locust", "pip install 'mlops-yaml[load]', or `make setup`")
    spec = copy_case("digits-torch", tmp_path)
    edit_spec(spec, {"load.thresholds.rps": "> 1000000"})
    write(prepare([spec]))
    locustfile, port = str(tmp_path / LOCUSTFILE), free_port()
    locust = str(VENV_BIN / "locust")
    env = LOCUST_ENV
    worker = subprocess.Popen([locust, "-f", locustfile, "--worker", "--master-host", "127.0.0.1",
                               "--master-port", str(port)], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        master = subprocess.run(
            [locust, "-f", locustfile, "--headless", "--master", "--master-bind-host", "127.0.0.1",
             "--master-bind-port", str(port), "--expect-workers", "1", "-u", "2", "-r", "2",
             "-t", "3s", "-H", f"http://127.0.0.1:{server.server_address[1]}", "--only-summary"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        worker_output, _ = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert master.returncode == 1, master.stdout + master.stderr
    assert "SLO failed: throughput" in master.stdout
    assert "SLO met: p95 latency" in master.stdout
    assert "SLO" not in worker_output
    rows = server.rows  # type: ignore[attr-defined]
    assert rows and len(rows) % 8 == 0 and set(rows[0]) == {"px_0", "px_1", "px_2", "px_3"}
