"""The servers the bench compares, each a subprocess on a free 127.0.0.1 port.

Each context manager yields a `Server` (base URL and process id, whose process tree the CPU
figures are read from). Peers and the granian variant run from their own venvs under
`.mlops/bench-venvs/` (gitignored), created on first use and reused: their pins clash with this
project's, and none of them becomes a dependency of the package.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, VENV_BIN

HERE = Path(__file__).resolve().parent
VENVS = ROOT / ".mlops" / "bench-venvs"
ONNXRUNTIME = "onnxruntime==1.32.0"  # the version the project serves with, for equal kernels
PEERS = {
    "mlserver": ("mlserver==1.7.1", ONNXRUNTIME),
    "bentoml": ("bentoml==1.4.40", ONNXRUNTIME),
    "kserve": ("kserve==0.21.0", ONNXRUNTIME),
    "granian": ("granian==2.8.7",),
}


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_venv(name: str) -> Path:
    """The venv's bin folder; created and installed from PyPI once, again if its pins change."""
    folder = VENVS / name
    stamp = folder / "bench-requirements.txt"
    wanted = "\n".join(PEERS[name]) + "\n"
    if not stamp.exists() or stamp.read_text() != wanted:
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["python3", "-m", "venv", str(folder)], check=True)
        pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-U", "pip"], check=True)  # venv's pip 23 trips on some metadata
        subprocess.run([*pip, *PEERS[name]], check=True)
        stamp.write_text(wanted)
    return folder / "bin"


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@contextmanager
def _running(command: list[str], port: int, ready_path: str, cwd: Path, log: Path,
             env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start, wait for ready_path to answer 200, yield; then SIGTERM the process group."""
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})},
                                   stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            _wait(f"http://127.0.0.1:{port}{ready_path}", process)
            yield Server(f"http://127.0.0.1:{port}", process.pid)
        finally:
            os.killpg(process.pid, 15)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def mlops_serve(spec: Path, model: Path, port: int, log: Path, *flags: str,
                env: dict[str, str] | None = None) -> AbstractContextManager[Server]:
    """`mlops serve` as the container runs it: access log on (to the log file here)."""
    return _running([str(VENV_BIN / "mlops"), "serve", str(spec), "--port", str(port),
                     "--model", str(model), "--no-verify", *flags], port, "/v2/health/ready",
                    spec.parent, log, env)


def floor(model: Path, name: str, port: int, log: Path) -> AbstractContextManager[Server]:
    """bench/serve/floor_app.py under uvicorn (httptools, uvloop, no access log), this venv."""
    return _running([str(VENV_BIN / "python"), "-m", "uvicorn", "bench.serve.floor_app:app",
                     "--host", "127.0.0.1", "--port", str(port), "--http", "httptools",
                     "--loop", "uvloop", "--no-access-log", "--log-level", "warning"], port,
                    f"/v2/models/{name}/ready", ROOT, log,
                    {"BENCH_MODEL": str(model.resolve()), "BENCH_NAME": name})


@contextmanager
def granian(config_json: str, port: int, workers: int, log: Path) -> Iterator[Server]:
    """The same app (mlops.serving.app:create_app, access log on, shared metrics) under granian.

    granian's venv sees this project's venv through a .pth line, so the app is the one installed
    here, unchanged; only the server around it differs."""
    bin_folder = ensure_venv("granian")
    site = next((bin_folder.parent / "lib").glob("python3*/site-packages"))
    ours = next((VENV_BIN.parent / "lib").glob("python3*/site-packages"))
    (site / "bench_mlops.pth").write_text(f"import site; site.addsitedir({str(ours)!r})\n")
    metrics = Path(tempfile.mkdtemp(prefix="bench-granian-metrics-"))
    try:
        with _running([str(bin_folder / "granian"), "--interface", "asgi", "--factory",
                       "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                       "--loop", "uvloop", "--no-ws", "--log-level", "warning",
                       "mlops.serving.app:create_app"], port, "/v2/health/ready", ROOT, log,
                      {"MLOPS_SERVE_CONFIG": config_json, "MLOPS_METRICS_DIR": str(metrics),
                       "MLOPS_ACCESS_LOG": "1"}) as server:
            yield server
    finally:
        shutil.rmtree(metrics, ignore_errors=True)


def _runtime_folder(workdir: Path, name: str, *files: str) -> Path:
    """A folder holding the peer's runtime file and the shared onnx_feeds.py it imports."""
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    for file in ("onnx_feeds.py", *files):
        shutil.copy(HERE / file, folder / file)
    return folder


def mlserver(model: Path, name: str, port: int, workdir: Path, log: Path) -> AbstractContextManager[Server]:
    """MLServer 1.7 with a custom runtime (mlserver_runtime.py), settings as documented but for
    the ports and `parallel_workers: 0` (inference in the server process): its default worker
    pool crashes on start with this dependency set ("no current event loop")."""
    folder = workdir / f"mlserver-{name}"
    model_folder = _runtime_folder(folder, name, "mlserver_runtime.py")
    (folder / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
        "host": "127.0.0.1", "debug": False, "parallel_workers": 0}))
    (model_folder / "model-settings.json").write_text(json.dumps({
        "name": name, "implementation": "mlserver_runtime.OnnxModel",
        "parameters": {"uri": str(model.resolve())}}))
    return _running([str(ensure_venv("mlserver") / "mlserver"), "start", str(folder)], port,
                    f"/v2/models/{name}/ready", folder, log)


def kserve(model: Path, name: str, port: int, workdir: Path, log: Path) -> AbstractContextManager[Server]:
    """KServe's ModelServer with a custom `kserve.Model` (kserve_model.py), one worker, gRPC off."""
    folder = _runtime_folder(workdir, f"kserve-{name}", "kserve_model.py")
    return _running([str(ensure_venv("kserve") / "python"), "kserve_model.py",
                     "--model_name", name, "--model_path", str(model.resolve()),
                     "--http_port", str(port), "--enable_grpc", "false",
                     "--enable_latency_logging", "false"], port, f"/v2/models/{name}/ready",
                    folder, log)


def bentoml(model: Path, name: str, port: int, workdir: Path, log: Path) -> AbstractContextManager[Server]:
    """`bentoml serve` of bentoml_service.py (one worker, adaptive batching on its ndarray API)."""
    folder = _runtime_folder(workdir, f"bentoml-{name}", "bentoml_service.py")
    return _running([str(ensure_venv("bentoml") / "bentoml"), "serve",
                     "bentoml_service:OnnxService", "--host", "127.0.0.1", "--port", str(port)],
                    port, "/readyz", folder, log,
                    {"BENCH_MODEL": str(model.resolve()), "BENTOML_HOME": str(workdir / "bentoml"),
                     "BENTOML_DO_NOT_TRACK": "true"})
