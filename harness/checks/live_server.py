"""The `server` fixture: a real `mlops serve` subprocess on a free 127.0.0.1 port.

It runs from the spec's folder with the current interpreter (the same mlops a production image
runs), is polled until /v2/health/ready answers, and is always stopped: SIGTERM as Kubernetes
sends it, then SIGKILL if it does not drain in time. Only the stdlib speaks HTTP here, so a check
needs no client library.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.core.errors import MlopsError
from mlops.core.telemetry import PREDICT_PATH
from mlops.spec.loader import LoadedSpec

from ..load.processes import free_port
from ..load.server import ServerFailed, wait_ready


class ServerError(Exception):
    """The server answered with an error status; `status` and the server's sentence are kept."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class LiveServer:
    """`url` of the running server, and `predict(rows)` through its /predict endpoint."""

    def __init__(self, loaded: LoadedSpec, folder: Path, *, ready_timeout_s: float = 60) -> None:
        self.features = loaded.spec.data.features
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        command = [sys.executable, "-m", "mlops", "serve", str(loaded.path.resolve()),
                   "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                   "--no-access-log", "--no-verify",  # a candidate, signed only on release
                   "--request-log-dir", str(folder / "requests")]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=loaded.root, stdout=output,
                                            stderr=subprocess.STDOUT)
        try:
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def predict(self, rows: Any) -> list[dict[str, Any]]:
        """POST rows (DataFrame, mapping, list of mappings or array rows) to /predict; the
        `predictions` of the answer, or ServerError with the server's message."""
        body = json.dumps({"instances": self._instances(rows)}).encode()
        request = urllib.request.Request(self.url + PREDICT_PATH, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ServerError(error.code, _error_message(error.read())) from None
        predictions: list[dict[str, Any]] = answer["predictions"]
        return predictions

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM, then SIGKILL after `timeout_s`; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_ready(self, timeout_s: float) -> None:
        def exited() -> str | None:
            code = self.process.poll()
            return None if code is None else f"exit code {code}"

        try:
            wait_ready(self.url, exited, lambda: self.output().strip(), timeout_s)
        except ServerFailed as error:
            raise MlopsError(f"`mlops serve`: {error}") from None

    def _instances(self, rows: Any) -> list[dict[str, float]]:
        if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
            rows = rows[self.features].to_dict("records")
        if isinstance(rows, Mapping):
            rows = [rows]
        result = []
        for row in rows:
            values = (row[name] for name in self.features) if isinstance(row, Mapping) else row
            result.append({name: float(value)
                           for name, value in zip(self.features, values, strict=True)})
        return result


def _error_message(body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
    message = document.get("error") if isinstance(document, dict) else None
    return message if isinstance(message, str) else json.dumps(document)
