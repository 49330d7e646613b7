"""Files an earlier server left unsent are uploaded by the next server on the same folder and
counted on its /metrics like its own: the real `mlops serve` (one process, and two workers of which
exactly one claims them) against the session's moto S3, scraped over HTTP."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests.harness.conftest import BUCKET
from tests.serving.serve_helpers import Server, make_project, upload_counts

LEFT = {"requests-tiny-20261130T230000-41-000001.jsonl": b'{"earlier": 1}\n',
        "requests-tiny-20261130T230500-41-000002.jsonl": b'{"earlier": 2}\n{"earlier": 3}\n'}
"""What a stopped server left in its log folder (names as the request log gives them)."""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_an_earlier_servers_files_are_uploaded_and_counted(s3: pafs.S3FileSystem, tmp_path: Path,
                                                           workers: int) -> None:
    prefix = f"leftovers-{workers}"
    spec = make_project(tmp_path, serving={"request_log": {
        "path": "logs", "sample_rate": 1.0, "upload": f"s3://{BUCKET}/{prefix}"}})
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, content in LEFT.items():
        (logs / name).write_bytes(content)
    server = Server(spec, "--no-access-log", "--workers", str(workers))
    try:
        deadline = time.monotonic() + 30  # workers publish their snapshot every second
        while (counted := upload_counts(server))["mlops_request_log_uploaded_files_total"] < len(LEFT):
            assert time.monotonic() < deadline, f"{counted}\n{server.output()}"
            time.sleep(0.2)
    finally:
        assert server.stop() == 0, server.output()
    uploaded = {info.base_name: s3.open_input_stream(info.path).read() for info in s3.get_file_info(
        pafs.FileSelector(f"{BUCKET}/{prefix}/{socket.gethostname()}"))}
    assert uploaded == LEFT
    assert counted == {
        "mlops_request_log_uploaded_files_total": len(LEFT),
        "mlops_request_log_uploaded_bytes_total": sum(map(len, LEFT.values())),
        "mlops_request_log_upload_failures_total": 0, "mlops_request_log_dropped_files_total": 0,
        "mlops_request_log_buffered_files": 0, "mlops_request_log_buffered_bytes": 0}
    assert not any(path.name in LEFT for path in logs.iterdir())
