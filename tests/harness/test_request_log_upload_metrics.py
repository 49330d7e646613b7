"""The request-log uploader on the server's /metrics: the real `mlops serve` with two worker
processes, uploading to the session's moto S3, scraped over HTTP.

While the store refuses every file (its bucket does not exist yet: each attempt fails at once),
failures rise, nothing is uploaded and the files waiting on the disk are what the buffer gauges say
(summed over both workers, each of which keeps its own buffer). Once the bucket exists, the
counters equal what is in it and nothing waits. Files past request_log.buffer_mb are counted as
dropped in test_request_log_upload.py's buffer test (the uploader alone: filling a MiB per worker
would cost seconds of requests).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import pytest

from tests.serving.serve_helpers import FEATURES, Server, make_project, upload_counts
from tests.tooling import require_tool


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


def _until(server: Server, condition: Callable[[dict[str, float]], bool],
           what: str) -> dict[str, float]:
    """Workers publish their snapshot every second: poll until the scrape shows `what`."""
    deadline = time.monotonic() + 30
    while True:
        values = upload_counts(server)
        if condition(values):
            return values
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within 30 s: {values}\n{server.output()}")
        time.sleep(0.3)


def _on_disk(logs: Path) -> list[Path]:
    return sorted(logs.glob("requests-*.jsonl"))


@pytest.mark.slow
def test_the_metrics_follow_a_store_that_refuses_then_accepts(s3: pafs.S3FileSystem,
                                                               tmp_path: Path) -> None:
    """The bucket does not exist at first (every attempt fails at once), then is created."""
    server, logs = _serve(tmp_path, "s3://metered-late/logs")
    try:
        _post(server, bursts=2, requests=5, rows=20)
        time.sleep(1.5)  # the last files close (rotate_after) and join the buffers
        files = _on_disk(logs)
        waiting = sum(path.stat().st_size for path in files)
        refused = _until(server, lambda v: v["mlops_request_log_buffered_files"] == len(files)
                         and v["mlops_request_log_upload_failures_total"] >= 1,
                         "both workers' buffers and a failure")
        assert _on_disk(logs) == files  # nothing was uploaded or dropped meanwhile
        s3.create_dir("metered-late")
        _post(server, bursts=1, requests=4, rows=1)  # a newly closed file wakes its uploader
        deadline = time.monotonic() + 40  # else the next retry, at most 30 s after the last
        while _on_disk(logs) and time.monotonic() < deadline:
            time.sleep(0.2)
        infos = [info for info in s3.get_file_info(pafs.FileSelector("metered-late/logs",
                                                                     recursive=True))
                 if info.type == pafs.FileType.File]
        done = _until(server, lambda v: v["mlops_request_log_uploaded_files_total"]
                      == len(infos) and not v["mlops_request_log_buffered_files"],
                      "every uploaded file counted")
        text = server.metrics()
    finally:
        assert server.stop() == 0, server.output()
    assert len(files) >= 2 and {path.name for path in files} <= {info.base_name for info in infos}
    assert refused["mlops_request_log_buffered_bytes"] == waiting
    assert (refused["mlops_request_log_uploaded_files_total"],
            refused["mlops_request_log_uploaded_bytes_total"]) == (0, 0)
    assert done == {
        "mlops_request_log_uploaded_files_total": len(infos),
        "mlops_request_log_uploaded_bytes_total": sum(info.size for info in infos),
        "mlops_request_log_upload_failures_total": done["mlops_request_log_upload_failures_total"],
        "mlops_request_log_dropped_files_total": 0,
        "mlops_request_log_buffered_files": 0, "mlops_request_log_buffered_bytes": 0}
    assert done["mlops_request_log_upload_failures_total"] >= refused[
        "mlops_request_log_upload_failures_total"]
    promtool = require_tool("promtool", "apt-get install prometheus")
    linted = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            text=True, check=False)
    assert "request_log" not in linted.stdout + linted.stderr, linted.stdout + linted.stderr
