"""serving.request_log.upload for real: `mlops serve` (champion and shadow challenger) ships its
rotated request logs to S3 (the session's moto server), and `mlops monitor run` reads them there.

Every logged row reaches the bucket exactly once (rotation and the SIGTERM drain included), the
monitor's verdict and figures from the bucket equal those from the same files on the local disk,
and a store that is unreachable for a while delays the upload, never a request.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.fs as pafs
import pytest

from mlops.cli.main import main
from mlops.harness.monitor.requestlog import log_files, read_window
from mlops.serving.log_upload import Uploader, leftovers
from mlops.serving.request_log import Fields, ParquetSink, Sampled
from tests.harness.conftest import BUCKET, HINT
from tests.serving.serve_helpers import FEATURES, Server, free_port, make_project
from tests.specs import edit_spec
from tests.tooling import require_tool

PREFIX = "upload-e2e"
BURSTS, REQUESTS, ROWS = 4, 15, 100
"""4 bursts a flush apart of 15 requests x 100 rows: ~0.6 MB of JSON lines a burst, so each
server's first file rotates at 1 MiB and its second is closed by the SIGTERM drain."""
ROUTED = [{"name": "prod", "namespace": "prod", "rollout": {
    "strategy": "canary", "traffic": {"router": "gateway_api", "hosts": ["tiny.example.com"],
                                      "gateway": {"name": "public", "namespace": "gateways"}}}}]


@dataclass(frozen=True)
class Served:
    spec: Path
    start: float
    end: float


def _write_reference(root: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, len(FEATURES)))
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "train.csv").write_text(
        ",".join((*FEATURES, "y")) + "\n"
        + "".join(",".join(f"{v:.6f}" for v in row) + f",{int(row[0] + row[1] > 0)}\n" for row in x))


def _objects(filesystem: pafs.FileSystem, base: str) -> dict[str, bytes]:
    infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    found = {}
    for info in infos:
        if info.type == pafs.FileType.File:
            with filesystem.open_input_stream(info.path) as stream:
                found[info.path] = stream.read()
    return found


def _logged(objects: dict[str, bytes]) -> Counter[tuple[str, str, int]]:
    return Counter((row["variant"], row["request_id"], row["row"])
                   for body in objects.values() for row in map(json.loads, body.splitlines()))


@pytest.fixture(scope="module")
def served(s3: pafs.S3FileSystem, tmp_path_factory: pytest.TempPathFactory) -> Served:
    """A champion (two worker processes) and its shadow challenger (one), mirrored the same
    requests, then SIGTERM'd."""
    root = tmp_path_factory.mktemp("upload")
    spec = make_project(root)
    shutil.copy(root / "models" / "model.onnx", root / "models" / "challenger.onnx")
    _write_reference(root)
    edit_spec(spec, {
        "deploy.environments": ROUTED,
        "serving.request_log": {"path": "logs", "sample_rate": 1.0, "rotate_mb": 1,
                                "upload": f"s3://{BUCKET}/{PREFIX}"},
        "serving.challenger": {"model": "models/challenger.onnx", "mode": "shadow"},
        "monitors.challenger": {"min_requests": 50}})
    rng = np.random.default_rng(5)
    champion = Server(spec, "--no-access-log", "--workers", "2")
    challenger = Server(spec, "--no-access-log", "--variant", "challenger")
    try:
        start = time.time()
        for burst in range(BURSTS):
            for number in range(REQUESTS):
                rows = rng.normal(size=(ROWS, len(FEATURES))).tolist()
                body = {"instances": [dict(zip(FEATURES, row, strict=True)) for row in rows]}
                headers = {"X-Request-ID": f"r-{burst}-{number}"}
                for server in (champion, challenger):
                    assert server.request("POST", "/predict", body, headers).status == 200
            time.sleep(1.2)  # the request log flushes once a second: the next burst rotates
        end = time.time()
    finally:
        assert champion.stop() == 0, champion.output()
        assert challenger.stop() == 0, challenger.output()
    return Served(spec, start, end)


@pytest.mark.slow
def test_every_logged_row_is_in_the_bucket_once(served: Served, s3: pafs.S3FileSystem) -> None:
    objects = _objects(s3, f"{BUCKET}/{PREFIX}")
    host = socket.gethostname()
    def files(stem: str) -> list[str]:
        return [path.rsplit("/", 1)[1] for path in objects
                if path.startswith(f"{BUCKET}/{PREFIX}/{host}/requests-{stem}-2")]

    assert len(files("tiny-challenger")) >= 2, sorted(objects)  # rotated, then the drain's
    assert len({name.split("-")[3] for name in files("tiny")}) == 2, sorted(objects)  # 2 pids
    expected = {(variant, f"r-{burst}-{number}", row) for variant in ("champion", "challenger")
                for burst in range(BURSTS) for number in range(REQUESTS) for row in range(ROWS)}
    counted = _logged(objects)
    assert set(counted) == expected and set(counted.values()) == {1}
    assert list((served.spec.parent / "logs").iterdir()) == []  # deleted once uploaded


def _monitor(capsys: pytest.CaptureFixture[str], served: Served, out: Path,
             *args: str) -> tuple[int, list[dict[str, Any]]]:
    window = math.ceil(served.end - served.start) + 2
    with pytest.raises(SystemExit) as exited:
        main(["monitor", "run", str(served.spec), "--no-push", "--report-dir", str(out),
              "--now", repr(served.end + 1), "--window", f"{window}s", *args])
    capsys.readouterr()
    report = json.loads((out / "report.json").read_text())
    return int(exited.value.code or 0), [check for gate in report["gates"]
                                         for check in gate["checks"]]


@pytest.mark.slow
def test_the_monitor_reads_the_bucket_as_it_reads_the_same_files_on_disk(
        served: Served, s3: pafs.S3FileSystem, capsys: pytest.CaptureFixture[str]) -> None:
    root = served.spec.parent
    local = root / "downloaded"
    for path, body in _objects(s3, f"{BUCKET}/{PREFIX}").items():
        target = local / path.removeprefix(f"{BUCKET}/{PREFIX}/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    remote_exit, remote = _monitor(capsys, served, root / "from-bucket")
    local_exit, on_disk = _monitor(capsys, served, root / "from-disk", "--log-dir", str(local))
    assert remote_exit == local_exit == 0
    uri = f"s3://{BUCKET}/{PREFIX}"
    window = next(check for check in remote if check["name"] == "window")
    assert window["observed"] == BURSTS * REQUESTS * ROWS and uri in window["message"]
    joined = next(check for check in remote if check["name"] == "challenger.window")
    assert joined["message"] == ("6000 champion rows, 6000 challenger rows, 6000 answered by "
                                 "both (joined on request id and row)")
    agreement = next(check for check in remote if check["name"] == "challenger.agreement")
    assert (agreement["status"], agreement["observed"]) == ("pass", 1.0)
    assert [{**check, "message": check["message"].replace(uri, "LOG")} for check in remote] == [
        {**check, "message": check["message"].replace(str(local), "LOG")} for check in on_disk]


def _start_moto(port: int) -> subprocess.Popen[bytes]:
    moto = require_tool("moto_server", HINT)
    process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"moto_server did not listen on {port} within 30 s")


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.2)


@pytest.mark.slow
def test_an_unreachable_store_delays_the_upload_not_the_requests(
        s3: pafs.S3FileSystem, tmp_path: Path) -> None:
    """The store is down (nothing listens at the endpoint) while requests are served, then comes
    up (a second moto on that port): the files kept on disk are uploaded, each row once."""
    port = free_port()
    spec = make_project(tmp_path, serving={"request_log": {
        "path": "logs", "sample_rate": 1.0, "rotate_after": "1s",
        "upload": f"s3://{BUCKET}/outage"}})
    logs = tmp_path / "logs"
    server = Server(spec, "--no-access-log",
                    env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    moto = None
    try:
        row = dict.fromkeys(FEATURES, 0.5)
        for number in range(20):
            reply = server.request("POST", "/predict", {"instances": [row]},
                                   headers={"X-Request-ID": f"down-{number}"})
            assert reply.status == 200
        _wait_for(lambda: "(retrying)" in server.output(), 20, "a failed upload")
        assert list(logs.glob("*.jsonl"))  # kept until uploaded
        moto = _start_moto(port)
        store = pafs.S3FileSystem(endpoint_override=f"http://127.0.0.1:{port}", scheme="http",
                                  allow_bucket_creation=True)
        store.create_dir(BUCKET)
        _wait_for(lambda: not list(logs.glob("*.jsonl")), 60, "the upload after the outage")
        for number in range(5):
            assert server.request("POST", "/predict", {"instances": [row]},
                                  headers={"X-Request-ID": f"up-{number}"}).status == 200
        assert server.stop() == 0, server.output()
        counted = _logged(_objects(store, f"{BUCKET}/outage"))
    finally:
        server.stop()
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=10)
    expected = {("champion", f"{phase}-{number}", 0)
                for phase, count in (("down", 20), ("up", 5)) for number in range(count)}
    assert set(counted) == expected and set(counted.values()) == {1}
    assert not list(logs.iterdir())


def test_a_store_refusing_the_files_keeps_at_most_the_buffer_on_disk(
        s3: pafs.S3FileSystem, tmp_path: Path) -> None:
    """Past buffer_mb the oldest closed files are given up, never the newest. (A bucket that does
    not exist fails each attempt at once; an unreachable endpoint takes the SDK's retries.)"""
    files = []
    for number in range(3):
        path = tmp_path / f"requests-tiny-2026120{number}T000000-1-000000.jsonl"
        path.write_bytes(b"x" * 99 + b"\n")
        files.append(path)
    uploader = Uploader("s3://no-such-bucket/buffer", buffer_bytes=250, host="pod-a")
    try:
        for path in files:
            uploader.add(path)
        kept = [path for path in files if path.exists()]
        assert len(kept) == 2 and files[-1] in kept
        deadline = time.monotonic() + 20
        while not uploader.counts.failures and time.monotonic() < deadline:
            time.sleep(0.05)
        samples = {name: value for name, _, value in uploader.samples((("model", "tiny"),))}
    finally:
        uploader.close()
    failures = samples.pop("mlops_request_log_upload_failures_total")
    assert failures >= 1
    assert samples == {  # what /metrics reports of it
        "mlops_request_log_uploaded_files_total": 0, "mlops_request_log_uploaded_bytes_total": 0,
        "mlops_request_log_dropped_files_total": 1,
        "mlops_request_log_buffered_files": 2, "mlops_request_log_buffered_bytes": 200}
    assert not uploader.thread.is_alive()
    assert [path for path in files if path.exists()] == kept  # not uploaded, still on disk


def test_leftovers_are_this_servers_files_only(tmp_path: Path) -> None:
    names = ["requests-tiny-20261201T000000-7-000001.jsonl",
             "requests-tiny-20261201T000001-7-000002.parquet",
             "requests-tiny-challenger-20261201T000000-8-000003.jsonl",
             "requests-other-20261201T000000-9-000004.jsonl", "notes.txt"]
    for age, name in enumerate(names):
        (tmp_path / name).write_text("{}\n")
        os.utime(tmp_path / name, (1_700_000_000 + age, 1_700_000_000 + age))
    assert [path.name for path in leftovers(tmp_path, "tiny")] == names[:2]
    assert [path.name for path in leftovers(tmp_path, "tiny-challenger")] == [names[2]]


def test_parquet_logs_are_read_from_the_bucket_as_from_the_disk(
        s3: pafs.S3FileSystem, tmp_path: Path) -> None:
    """A Parquet log file uploaded by the real uploader (twice: the second attempt finds the object
    and sends nothing) reads the same from the bucket, row batch by row batch, as from the disk."""
    local = tmp_path / "logs"
    local.mkdir()
    sink = ParquetSink(local, "tiny", 1 << 20, Fields("tiny", "sha256:ab", "champion", FEATURES))
    now = time.time()
    sink.write([sink.encode(Sampled(now, f"p-{number}",
                                    {feature: np.array([float(number)]) for feature in FEATURES},
                                    ["yes"], [0.75]))
                for number in range(50)])
    sink.close()
    (path,) = local.iterdir()
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    uploader = Uploader(f"s3://{BUCKET}/parquet", buffer_bytes=1 << 20, host="pod-p")
    try:
        uploader.add(path)
        uploader.add(copy)  # the same name and size: already there, not sent again
    finally:
        uploader.close()
    assert not path.exists() and not copy.exists()
    disk = tmp_path / "disk" / "pod-p"
    disk.mkdir(parents=True)
    with s3.open_input_stream(f"{BUCKET}/parquet/pod-p/{path.name}") as stream:
        (disk / path.name).write_bytes(stream.read())
    assert [file.name for file in log_files(f"s3://{BUCKET}/parquet")] == [f"pod-p/{path.name}"]
    windows = [read_window(where, now - 1, now + 1, "tiny", FEATURES, [], frozenset())
               for where in (f"s3://{BUCKET}/parquet", disk.parent)]
    assert [(w.files, w.rows, w.corrupt, w.unreadable, w.predictions) for w in windows] == [
        (1, 50, 0, [], {"yes": 50})] * 2


def test_a_missing_bucket_is_a_monitor_error_and_an_empty_prefix_a_quiet_window(
        s3: pafs.S3FileSystem, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = make_project(tmp_path, serving={"request_log": {
        "path": "logs", "upload": "s3://no-such-bucket/requests"}})
    with pytest.raises(SystemExit) as exited:
        main(["monitor", "run", str(spec), "--no-push", "--report-dir", str(tmp_path / "out")])
    assert exited.value.code == 2
    assert capsys.readouterr().out.splitlines() == [
        "tiny: the monitor could not run",
        "  error: window: request log not read: s3://no-such-bucket/requests: bucket "
        "'no-such-bucket' not found"]
    edit_spec(spec, {"serving.request_log.upload": f"s3://{BUCKET}/nothing-yet"})
    with pytest.raises(SystemExit) as exited:
        main(["monitor", "run", str(spec), "--no-push", "--report-dir", str(tmp_path / "out"),
              "--now", "2026-12-01T10:00:00Z", "--window", "1h"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "  warn: window: no requests logged between 2026-12-01T09:00:00Z and "
        f"2026-12-01T10:00:00Z in s3://{BUCKET}/nothing-yet: nothing to compare; an empty window "
        "is not an alert")
