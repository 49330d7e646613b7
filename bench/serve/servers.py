"""The servers the bench compares, each a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, VENV_BIN

HERE = Path(__file__).resolve().parent
MLSERVER_VENV = ROOT / ".mlops" / "bench-venvs" / "mlserver"
MLSERVER_VERSION = "1.7.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@contextmanager
def _running(command: list[str], ready_url: str, cwd: Path, env: dict[str, str] | None = None,
             log: Path | None = None) -> Iterator[None]:
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})},
                               stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait(ready_url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def mlops_serve(spec: Path, port: int, *flags: str) -> Iterator[str]:
    """`mlops serve` as the container runs it (access log on, to /dev/null here)."""
    with _running([str(VENV_BIN / "mlops"), "serve", str(spec), "--port", str(port), *flags],
                  f"http://127.0.0.1:{port}/v2/health/ready", spec.parent):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def starlette_variant(config_json: str, port: int) -> Iterator[str]:
    """The same core behind Starlette (bench/serve/stack_starlette.py), for the stack choice."""
    with _running([str(VENV_BIN / "python"), "-m", "uvicorn", "bench.serve.stack_starlette:create",
                   "--factory", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
                   "--no-access-log", "--log-level", "warning"],
                  f"http://127.0.0.1:{port}/ping", ROOT, {"MLOPS_SERVE_CONFIG": config_json}):
        yield f"http://127.0.0.1:{port}"


def ensure_mlserver() -> Path:
    """MLServer in its own venv (its pins clash with this project's); installed once."""
    binary = MLSERVER_VENV / "bin" / "mlserver"
    if not binary.exists():
        subprocess.run(["python3", "-m", "venv", str(MLSERVER_VENV)], check=True)
        subprocess.run([str(MLSERVER_VENV / "bin" / "pip"), "install", "-q",
                        f"mlserver=={MLSERVER_VERSION}", "onnxruntime"], check=True)
    return binary


@contextmanager
def mlserver(model: Path, name: str, port: int, workdir: Path) -> Iterator[str]:
    """MLServer serving the ONNX file via a tiny runtime; defaults but for the ports and
    `parallel_workers: 0` (inference in the server process): its default worker pool crashes on
    start with this dependency set ("no current event loop"), and in-process is its fast path."""
    folder = workdir / "mlserver"
    (folder / name).mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "mlserver_runtime.py", folder / name / "mlserver_runtime.py")
    (folder / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
        "host": "127.0.0.1", "debug": False, "parallel_workers": 0}))
    (folder / name / "model-settings.json").write_text(json.dumps({
        "name": name, "implementation": "mlserver_runtime.OnnxModel",
        "parameters": {"uri": str(model.resolve())}}))
    with _running([str(ensure_mlserver()), "start", str(folder)],
                  f"http://127.0.0.1:{port}/v2/models/{name}/ready", folder,
                  log=workdir / "mlserver.log"):
        yield f"http://127.0.0.1:{port}"
