"""Run the app under uvicorn (httptools + uvloop, a response in one send: `http`): one process, or
several workers sharing the port.

SIGTERM: uvicorn stops accepting, lets in-flight requests finish for up to DRAIN_SECONDS (inside
the 30 s grace period the Kubernetes manifests declare), then the lifespan shutdown flushes the
request log (and, with request_log.upload, gives its last files a bounded time to reach the
store: serving/log_upload.py); the process exits 0.
"""

from __future__ import annotations

import logging.config
import os
import shutil
import signal
import tempfile
from pathlib import Path

import uvicorn

from . import logs
from .app import METRICS_DIR_ENV, build_app
from .config import CONFIG_ENV, ServerConfig
from .http import JoinedWritesProtocol
from .log_upload import LEFTOVERS_ENV, offer_leftovers
from .request_log import file_stem
from .verify import verify_before_serving

DRAIN_SECONDS = 25


def _uvicorn_options(config: ServerConfig) -> dict[str, object]:
    return {
        "host": config.host, "port": config.port, "loop": "uvloop", "http": JoinedWritesProtocol,
        "lifespan": "on", "access_log": False, "server_header": False,
        "log_config": logs.log_config(), "timeout_graceful_shutdown": DRAIN_SECONDS,
        "timeout_keep_alive": 30, "backlog": 2048,
    }


def run(config: ServerConfig, access_log: bool = True) -> None:
    """Serve until SIGTERM/SIGINT. The model's signature is checked (serving.verify), then it is
    loaded and warmed up, all before the port opens."""
    logging.config.dictConfig(logs.log_config())
    verify_before_serving(config)  # once, here: workers load the file this checked
    earlier = _leftovers(config)
    try:
        _serve(config, access_log, earlier)
    finally:
        os.environ.pop(LEFTOVERS_ENV, None)
        if earlier is not None:
            earlier.unlink(missing_ok=True)  # not claimed: the app never started


def _leftovers(config: ServerConfig) -> Path | None:
    """The list of files an earlier server left unsent (serving.request_log.upload), made before
    any worker of this one opens a file of its own; a worker's uploader claims it."""
    log = config.request_log
    if log is None or not log.upload or log.sample_rate <= 0:
        return None
    return offer_leftovers(Path(log.path), file_stem(config.name, config.variant))


def _offer(earlier: Path | None) -> None:
    """Let the next uploader started (in this process or a worker) claim the earlier files."""
    if earlier is not None:
        os.environ[LEFTOVERS_ENV] = str(earlier)


def _serve(config: ServerConfig, access_log: bool, earlier: Path | None) -> None:
    # uvicorn re-raises the signal it caught once it has drained; a no-op handler turns that
    # into a normal return, so a SIGTERM'd server exits 0 (Kubernetes reads it as a clean stop).
    signal.signal(signal.SIGTERM, lambda number, frame: None)
    if config.workers == 1:
        _offer(earlier)
        app = build_app(config, access_log=access_log)
        uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(config))).run()  # type: ignore[arg-type]
        return
    build_app(config, access_log=False).close()  # fail here, once, if the model cannot load
    _offer(earlier)  # after that throwaway app: the workers' uploaders claim the files
    folder = Path(tempfile.mkdtemp(prefix="mlops-metrics-"))
    os.environ[CONFIG_ENV] = config.to_json()
    os.environ[METRICS_DIR_ENV] = str(folder)
    os.environ["MLOPS_ACCESS_LOG"] = "1" if access_log else "0"
    try:
        uvicorn.run("mlops.serving.app:create_app", factory=True, workers=config.workers,
                    **_uvicorn_options(config))  # type: ignore[arg-type]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
