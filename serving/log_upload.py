"""Shipping closed request-log files to object storage (serving.request_log.upload), so the
monitor reads the log wherever it runs instead of only where a volume is shared.

A file the request log closes (on rotation, or at shutdown) is queued here; a background thread
uploads it with pyarrow's filesystem to `<prefix>/<host name>/<file name>` and deletes the local
copy once the object is complete. Requests never wait: the request log's writer thread only
queues a path. A failed upload is logged and retried, 1 s after the first failure, doubling up to
RETRY_MAX_SECONDS. While the store stays unreachable, closed files wait on the local disk up to
`buffer_mb`; past that the oldest are deleted, each logged as lost, so a long outage cannot fill
the pod's volume (its sizeLimit would evict the pod, losing everything). At shutdown the queue gets
SHUTDOWN_SECONDS; what is left stays on disk, and the next server started on the same folder
(a restarted container keeps its emptyDir) uploads it first (`leftovers`): the server lists them
before any worker opens a file of its own and offers the list (`offer_leftovers`); the first
uploader to start claims it (an atomic rename, so with several workers exactly one does) and
queues those files ahead of its own, so they count on /metrics like any other.

Object names never collide: the host name (the pod's) keeps pods apart, and a file's name carries
its creation time, process id and a counter. So an object already at a file's key can only be an
earlier attempt at the same file: the same size means it landed (only the answer was lost) and it
is not sent again; another size means an interrupted attempt, which is replaced.

The filesystem is opened in the thread, at the first upload: resolving an S3 bucket's region is a
network call, and an unreachable store must not stop the server from starting.

Operators see it on the server's /metrics (`samples`, names in `mlops.core.telemetry`): files and
bytes uploaded, failed attempts, files given up on a full buffer, and what waits on the disk. A
store that stays unreachable shows as failures rising while nothing is uploaded.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.core import telemetry as t
from mlops.core.errors import MlopsError

from .metrics import Labels, Sample

log = logging.getLogger("mlops.serve")

LEFTOVERS_ENV = "MLOPS_UPLOAD_LEFTOVERS"
"""The file listing an earlier server's log files, for the first uploader of this server."""
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
SHUTDOWN_SECONDS = 10.0
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _Pending:
    path: Path
    size: int


@dataclass
class UploadCounts:
    """What this process's uploader has done since it started (the counters of /metrics)."""

    files: int = 0
    bytes: int = 0
    failures: int = 0
    dropped: int = 0


class Uploader:
    """Uploads queued files in order on its own thread; `close` waits a bounded time."""

    def __init__(self, prefix: str, buffer_bytes: int, host: str | None = None) -> None:
        try:
            import pyarrow.fs  # noqa: F401  (fail at start-up, not at the first upload)
        except ImportError:
            raise OSError("request_log.upload needs pyarrow in the server's environment "
                          "(pip install 'mlops-yaml[monitor]')") from None
        self.prefix = prefix.rstrip("/")
        self.buffer_bytes = buffer_bytes
        self.host = host or socket.gethostname()
        self.filesystem: Any = None
        self.base = ""
        self.pending: list[_Pending] = []
        self.current: Path | None = None
        self.counts = UploadCounts()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="request-log-upload", daemon=True)
        self.thread.start()
        self._claim_leftovers()

    def _claim_leftovers(self) -> None:
        """Queue the files an earlier server left (`offer_leftovers`), unless another uploader
        of this server claimed them first."""
        offered = os.environ.get(LEFTOVERS_ENV)
        if not offered:
            return
        claimed = Path(f"{offered}.{os.getpid()}")
        try:
            os.rename(offered, claimed)
        except FileNotFoundError:
            return
        try:
            files = [Path(name) for name in json.loads(claimed.read_bytes())]
        finally:
            claimed.unlink()
        for path in files:
            self.add(path)
        log.info("request log: %d file(s) left by an earlier server queued for upload to %s",
                 len(files), self.prefix)

    def add(self, path: Path) -> None:
        """Queue a closed file; past the buffer, the oldest queued files are given up."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        with self.lock:
            self.pending.append(_Pending(path, size))
            lost = self._over_buffer()
            self.counts.dropped += len(lost)
        for item in lost:
            item.path.unlink(missing_ok=True)
            log.error("request log %s (%d bytes) deleted without upload: %s unreachable and "
                      "request_log.buffer_mb (%d MiB) full", item.path.name, item.size,
                      self.prefix, self.buffer_bytes // (1024 * 1024))
        self.wake.set()

    def _over_buffer(self) -> list[_Pending]:
        """The oldest files beyond the buffer (never the newest, nor the one being sent)."""
        total = sum(item.size for item in self.pending)
        lost = []
        for item in list(self.pending[:-1]):
            if total <= self.buffer_bytes:
                break
            if item.path == self.current:
                continue
            self.pending.remove(item)
            total -= item.size
            lost.append(item)
        return lost

    def close(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Upload what is queued, for at most `timeout` seconds; the rest stays on disk."""
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout)
        with self.lock:
            left = [item.path.name for item in self.pending]
        if left:
            log.warning("request log: %d file(s) not uploaded to %s at shutdown, kept on disk "
                        "for the next start: %s", len(left), self.prefix, ", ".join(left))

    def _loop(self) -> None:
        delay = 0.0
        while True:
            self.wake.wait(delay if delay else None)
            self.wake.clear()
            if self._send_all():
                delay = 0.0
                if self.stopping:
                    return
            elif self.stopping:
                return
            else:
                delay = min(RETRY_MAX_SECONDS, max(RETRY_FIRST_SECONDS, 2 * delay))

    def _send_all(self) -> bool:
        """Upload queued files oldest first; False at the first failure (logged, one line)."""
        from mlops.core.object_stores import STORE_ERRORS, describe  # pyarrow: checked at start

        while True:
            with self.lock:
                if not self.pending:
                    self.current = None
                    return True
                item = self.pending[0]
                self.current = item.path
            try:
                sent = item.path.exists()  # else given up (buffer full) or removed by hand
                if sent:
                    self._send(item.path)
            except (*STORE_ERRORS, MlopsError) as error:  # MlopsError: a refused setting
                with self.lock:
                    self.counts.failures += 1
                log.warning("request log %s not uploaded to %s (retrying): %s", item.path.name,
                            self.prefix, describe(error))
                return False
            with self.lock:
                if item in self.pending:
                    self.pending.remove(item)
                self.current = None
                if sent:
                    self.counts.files += 1
                    self.counts.bytes += item.size
            item.path.unlink(missing_ok=True)

    def samples(self, labels: Labels) -> list[Sample]:
        """The upload metrics of this process with `labels` (model, variant), zeros included so
        a rate is defined from the server's start."""
        with self.lock:
            counts = self.counts
            values = ((t.UPLOADED_FILES, counts.files), (t.UPLOADED_BYTES, counts.bytes),
                      (t.UPLOAD_FAILURES, counts.failures), (t.UPLOAD_DROPPED, counts.dropped),
                      (t.UPLOAD_BUFFERED_FILES, len(self.pending)),
                      (t.UPLOAD_BUFFERED_BYTES, sum(item.size for item in self.pending)))
        return [(metric.name, labels, float(value)) for metric, value in values]

    def _send(self, path: Path) -> None:
        import pyarrow.fs as pafs

        from mlops.core.storage import open_location

        if self.filesystem is None:
            self.filesystem, self.base = open_location(self.prefix, path.parent)
        key = f"{self.base}/{self.host}/{path.name}"
        size = path.stat().st_size
        found = self.filesystem.get_file_info(key)
        if found.type == pafs.FileType.File and found.size == size:
            return
        with path.open("rb") as source, self.filesystem.open_output_stream(key) as target:
            shutil.copyfileobj(source, target, CHUNK_BYTES)


def leftovers(folder: Path, stem: str) -> list[Path]:
    """Log files of this server (`stem`: the model, or `<model>-challenger`) left in `folder` by
    an earlier process, oldest first. Call it before this server writes any."""
    pattern = re.compile(rf"requests-{re.escape(stem)}-\d{{8}}T\d{{6}}-\d+-\d{{6}}"
                         r"\.(jsonl|parquet)")
    try:
        found = [path for path in folder.iterdir() if pattern.fullmatch(path.name)]
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda path: (path.stat().st_mtime, path.name))


def offer_leftovers(folder: Path, stem: str) -> Path | None:
    """List the files an earlier server left in `folder` for this server's first uploader (see
    the module docstring): the list's path, which the caller sets as LEFTOVERS_ENV once no
    throwaway uploader can claim it, and removes when the server stops; None when there are none."""
    files = leftovers(folder, stem)
    if not files:
        return None
    handle, name = tempfile.mkstemp(prefix="mlops-leftovers-", suffix=".json")
    with os.fdopen(handle, "wb") as listing:
        listing.write(json.dumps([str(path.absolute()) for path in files]).encode())
    return Path(name)
