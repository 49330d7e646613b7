"""The request-log uploader on the server's /metrics: the real `mlops serve` with two worker
processes, uploading to the session's moto S3, scraped over HTTP.

A reachable store: the counters equal what is in the bucket and nothing waits. A store refusing
every file (a bucket that does not exist fails each attempt at once): failures rise, nothing is
uploaded, the files waiting on the disk are what the buffer gauges say (summed over both workers,
each of which keeps its own buffer), and files past request_log.buffer_mb are counted as dropped.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import pytest

from mlops.core import telemetry
from tests.harness.conftest import BUCKET
from tests.serving.serve_helpers import FEATURES, Server, make_project
from tests.tooling import require_tool

LABELS = 'model="tiny",variant="champion"'


def _serve(root: Path, upload: str, **settings: object) -> tuple[Server, Path]:
    spec = make_project(root, serving={"request_log": {
        "path": "logs", "sample_rate": 1.0, "rotate_after": "1s", "upload": upload, **settings}})
    return Server(spec, "--no-access-log", "--workers", "2"), root / "logs"


def _post(server: Server, bursts: int, requests: int, rows: int) -> None:
    rng = np.random.default_rng(7)
    for burst in range(bursts):
        for number in range(requests):
            body = {"instances": [dict(zip(FEATURES, row, strict=True))
                                  for row in rng.normal(size=(rows, len(FEATURES))).tolist()]}
            reply = server.request("POST", "/predict", body,
                                   headers={"X-Request-ID": f"r-{burst}-{number}"})
            assert reply.status == 200
        time.sleep(1.2)  # a flush and a rotate_after apart: the next burst opens a new file


def _scrape(server: Server) -> dict[str, float]:
    """The upload metrics' values; every one must be exported, zeros included."""
    text = server.metrics()
    values = {}
    for metric in telemetry.UPLOAD_METRICS:
        head = f"{metric.name}{{{LABELS}}} "
        [line] = [line for line in text.splitlines() if line.startswith(head)]
        values[metric.name] = float(line.removeprefix(head))
    return values


def _until(server: Server, condition: Callable[[dict[str, float]], bool],
           what: str) -> dict[str, float]:
    """Workers publish their snapshot every second: poll until the scrape shows `what`."""
    deadline = time.monotonic() + 30
    while True:
        values = _scrape(server)
        if condition(values):
            return values
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within 30 s: {values}\n{server.output()}")
        time.sleep(0.3)


def _on_disk(logs: Path) -> list[Path]:
    return sorted(logs.glob("requests-*.jsonl"))


@pytest.mark.slow
def test_the_counters_match_the_bucket(s3: pafs.S3FileSystem, tmp_path: Path) -> None:
    server, logs = _serve(tmp_path, f"s3://{BUCKET}/metered")
    try:
        _post(server, bursts=2, requests=5, rows=20)
        deadline = time.monotonic() + 30
        while _on_disk(logs) and time.monotonic() < deadline:  # closed (idle 1 s), uploaded
            time.sleep(0.2)
        infos = [info for info in s3.get_file_info(pafs.FileSelector(f"{BUCKET}/metered",
                                                                     recursive=True))
                 if info.type == pafs.FileType.File]
        values = _until(server, lambda v: v["mlops_request_log_uploaded_files_total"]
                        == len(infos), "every uploaded file counted")
        text = server.metrics()
    finally:
        assert server.stop() == 0, server.output()
    assert len(infos) >= 2
    assert values == {
        "mlops_request_log_uploaded_files_total": len(infos),
        "mlops_request_log_uploaded_bytes_total": sum(info.size for info in infos),
        "mlops_request_log_upload_failures_total": 0, "mlops_request_log_dropped_files_total": 0,
        "mlops_request_log_buffered_files": 0, "mlops_request_log_buffered_bytes": 0}
    promtool = require_tool("promtool", "apt-get install prometheus")
    linted = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            text=True, check=False)
    assert "request_log" not in linted.stdout + linted.stderr, linted.stdout + linted.stderr


@pytest.mark.slow
def test_a_refusing_store_shows_failures_the_buffer_and_drops(tmp_path: Path,
                                                              s3: pafs.S3FileSystem) -> None:
    server, logs = _serve(tmp_path, "s3://no-such-bucket/metered", buffer_mb=1)
    try:
        _post(server, bursts=6, requests=12, rows=100)  # ~0.5 MB of lines a burst, 1 MiB kept
        time.sleep(1.5)  # the last files close (rotate_after) and join the buffer
        files = _on_disk(logs)
        values = _until(server, lambda v: v["mlops_request_log_buffered_files"] == len(files),
                        "both workers' buffers")
        assert _on_disk(logs) == files  # nothing was uploaded or dropped meanwhile
    finally:
        assert server.stop() == 0, server.output()
    assert values["mlops_request_log_uploaded_files_total"] == 0
    assert values["mlops_request_log_uploaded_bytes_total"] == 0
    assert values["mlops_request_log_upload_failures_total"] >= 1
    assert values["mlops_request_log_dropped_files_total"] >= 1
    assert values["mlops_request_log_buffered_bytes"] == sum(path.stat().st_size for path in files)
    assert "deleted without upload" in server.output()
