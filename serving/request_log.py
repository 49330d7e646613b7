"""Sampled request/prediction records for the monitor job: one flat row per input row.

Row schema (JSONL object or Parquet column): `timestamp` (Unix seconds), `request_id`, `model`,
`model_digest` (`sha256:<hex>` of the ONNX file that answered), `row` (index in the request),
one column per feature (spec order; text as strings, a missing value as null), then `prediction`
(label for classifiers, value for regression) and `score` (positive-class probability for
binary classifiers, the highest probability for multiclass, the value for regression), and
`variant` (champion, or challenger for serving.challenger's server). The monitor joins feedback
labels on `request_id` + `row`, and a challenger's rows to the champion's the same way.

Sampling is decided by the request id (a hash, not a coin toss), so the champion and a challenger
that see the same request (mirrored, with its x-request-id) log it both or neither.

A sampled request's rows are encoded on the event loop, column by column (JSONL lines from a
template filled with each column's JSON cells, or an Arrow table), after its response went out,
and written by a background thread once a second or every FLUSH_BYTES, so a slow disk never
blocks a request. Encoding in that thread instead held the GIL for tens of
milliseconds at each flush, and the event loop waited out Python's 5 ms switch interval behind
it: the p99 of 64-row requests at concurrency 1 went from ~2 to 6-17 ms (bench/serve/NOTES.md).
Files rotate at `rotate_mb` and carry the pid, so several workers never share a file. With
`upload`, each closed file goes to object storage (serving/log_upload.py).
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from mlops.core.columns import Columns, Matrix

from .config import RequestLogConfig
from .log_upload import Uploader

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
FLUSH_SECONDS = 1.0
"""The writer thread's longest sleep: how far the files may lag the requests."""
FLUSH_BYTES = 256 * 1024
"""Encoded bytes that wake the writer before its second is up: writing a whole second of a busy
server's rows at once (6 MB at 1,000 sampled 64-row requests a second) took 5-14 ms of kernel
copying, a stall that requests on the same cores felt; 256 KiB takes well under a millisecond."""
Closed = Callable[[Path], None]
"""Told each file a sink has closed (the uploader's queue)."""


@dataclass(frozen=True)
class Fields:
    """What every row of one server's log says beside the request's own values."""

    model: str
    digest: str
    variant: str
    features: tuple[str, ...]
    """The feature columns, in spec order."""


@dataclass(frozen=True)
class Sampled:
    """One sampled request: its raw columns and its answers, one per row."""

    timestamp: float
    request_id: str
    columns: Columns
    predictions: Sequence[Any]
    scores: Sequence[float]


class Sink(Protocol):
    """A rotating file of rows in one format."""

    opened: float | None
    """time.monotonic() when the current file opened; None when none is open."""

    def encode(self, request: Sampled) -> Any:
        """One request's rows in the file's format (on the event loop)."""

    def nbytes(self, chunk: Any) -> int:
        """Bytes an encoded request holds."""

    def write(self, chunks: list[Any]) -> None:
        """Append encoded requests (on the writer thread)."""

    def close(self) -> None: ...


def _cells(values: npt.NDArray[Any]) -> list[Any]:
    """A raw column as JSON-ready cells: NaN (a missing number) becomes None."""
    cells: list[Any] = values.tolist()
    if values.dtype.kind == "f" and np.isnan(values).any():
        return [None if cell != cell else cell for cell in cells]
    return cells


def sampled(request_id: str, rate: float) -> bool:
    """Whether a request with this id is logged at this sample rate (a hash of the id)."""
    if rate >= 1:
        return True
    return rate > 0 and zlib.crc32(request_id.encode()) < rate * 2**32


def _json_cells(values: npt.NDArray[Any]) -> list[bytes]:
    """A raw column as the JSON text of each cell: numbers in one orjson call, split at the
    commas (a number has none; NaN is written null), text cell by cell."""
    if values.dtype.kind in "biuf":
        return orjson.dumps(np.ascontiguousarray(values), option=_NUMPY)[1:-1].split(b",")
    return [orjson.dumps(cell, option=_NUMPY) for cell in values.tolist()]


def _json_feature_cells(columns: Columns, features: tuple[str, ...]) -> list[list[bytes]]:
    """Each feature's cells as JSON text, spec order; a matrix in spec order in one call."""
    if isinstance(columns, Matrix) and columns.names == features and features:
        flat = _json_cells(columns.block.ravel())
        return [flat[position::len(features)] for position in range(len(features))]
    return [_json_cells(columns[name]) for name in features]


def _escaped(value: str) -> bytes:
    """A JSON string, as literal text of a %-template."""
    return orjson.dumps(value).replace(b"%", b"%%")


def _file_name(model: str, suffix: str) -> str:
    """`model` is the spec's name, followed by '-challenger' for the challenger's server."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return f"requests-{model}-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}.{suffix}"


def file_stem(model: str, variant: str) -> str:
    """What a server's log file names carry after 'requests-': the challenger's are apart."""
    return model if variant == "champion" else f"{model}-{variant}"


class JsonlSink:
    """One JSON object per line. A line is a template of the fixed fields filled with the
    request's head and the row's cells, the same bytes as a dict per row dumped one by one and
    a sixth less CPU for 64 rows of 30 numbers (bench/serve/NOTES.md, session 32)."""

    def __init__(self, folder: Path, model: str, rotate_bytes: int, fields: Fields,
                 closed: Closed | None = None) -> None:
        self.folder, self.model, self.rotate_bytes = folder, model, rotate_bytes
        self.fields = fields
        self.closed = closed
        self.handle: Any = None
        self.path = folder
        self.opened: float | None = None
        self.size = 0
        self.line = (b'%b,"row":%d,'
                     + b"".join(_escaped(name) + b":%b," for name in fields.features)
                     + b'"prediction":%b,"score":%b,"variant":' + _escaped(fields.variant)
                     + b"}\n")
        """A row: the request's head (timestamp to model_digest), the row's index and cells."""

    def encode(self, request: Sampled) -> bytes:
        fields = self.fields
        head = orjson.dumps({"timestamp": request.timestamp, "request_id": request.request_id,
                             "model": fields.model, "model_digest": fields.digest})[:-1]
        cells = _json_feature_cells(request.columns, fields.features)
        cells.append([orjson.dumps(prediction, option=_NUMPY)
                      for prediction in request.predictions])
        cells.append(orjson.dumps(list(request.scores), option=_NUMPY)[1:-1].split(b","))
        line = self.line
        return b"".join([line % (head, index, *row)
                         for index, row in enumerate(zip(*cells, strict=True))])

    def nbytes(self, chunk: bytes) -> int:
        return len(chunk)

    def write(self, chunks: list[bytes]) -> None:
        data = b"".join(chunks)
        if self.handle is None or self.size >= self.rotate_bytes:
            self.close()
            self.path = self.folder / _file_name(self.model, "jsonl")
            self.handle = self.path.open("ab")
            self.opened = time.monotonic()
            self.size = 0
        self.handle.write(data)
        self.handle.flush()
        self.size += len(data)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
            self.opened = None
            if self.closed is not None:
                self.closed(self.path)


class ParquetSink:
    """One row group per flush; a file is only readable once closed (rotation or shutdown).

    Parquet buffers and compresses, so the size checked for rotation is the Arrow (uncompressed)
    size of the rows written: files end up at most `rotate_mb`, usually well under."""

    def __init__(self, folder: Path, model: str, rotate_bytes: int, fields: Fields,
                 closed: Closed | None = None) -> None:
        import pyarrow  # noqa: F401  (fail at start-up, not at the first flush)

        self.folder, self.model, self.rotate_bytes = folder, model, rotate_bytes
        self.fields = fields
        self.closed = closed
        self.writer: Any = None
        self.path = folder
        self.opened: float | None = None
        self.size = 0

    def encode(self, request: Sampled) -> Any:
        import pyarrow as pa

        fields, rows = self.fields, len(request.scores)
        return pa.Table.from_pydict({
            "timestamp": [request.timestamp] * rows, "request_id": [request.request_id] * rows,
            "model": [fields.model] * rows, "model_digest": [fields.digest] * rows,
            "row": list(range(rows)),
            **{name: _cells(request.columns[name]) for name in fields.features},
            "prediction": list(request.predictions), "score": list(request.scores),
            "variant": [fields.variant] * rows})

    def nbytes(self, chunk: Any) -> int:
        return int(chunk.nbytes)

    def write(self, chunks: list[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # A column that was all null in one request is typed null there: promote it.
        table = (chunks[0] if len(chunks) == 1
                 else pa.concat_tables(chunks, promote_options="permissive"))
        if self.writer is not None and (self.size >= self.rotate_bytes
                                        or table.schema != self.writer.schema):
            self.close()
        if self.writer is None:
            self.path = self.folder / _file_name(self.model, "parquet")
            self.writer = pq.ParquetWriter(self.path, table.schema)
            self.opened = time.monotonic()
            self.size = 0
        self.writer.write_table(table)
        self.size += table.nbytes

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.opened = None
            if self.closed is not None:
                self.closed(self.path)


class RequestLogger:
    """Samples requests and hands their rows to a writer thread."""

    def __init__(self, config: RequestLogConfig, model: str, features: Sequence[str],
                 digest: str, variant: str = "champion") -> None:
        self.rate = config.sample_rate
        fields = Fields(model, digest, variant, tuple(features))
        folder = Path(config.path)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OSError(f"request_log.path {folder}: {error.strerror}") from None
        rotate = config.rotate_mb * 1024 * 1024
        stem = file_stem(model, variant)
        self.uploader = (Uploader(config.upload, config.buffer_mb * 1024 * 1024)
                         if config.upload else None)
        self.max_age = config.rotate_after_s if self.uploader is not None else None
        closed = self.uploader.add if self.uploader is not None else None
        if config.format == "parquet":
            try:
                self.sink: Sink = ParquetSink(folder, stem, rotate, fields, closed)
            except ImportError:
                raise OSError("request_log.format parquet needs pyarrow in the server's "
                              "environment (pip install pyarrow)") from None
        else:
            self.sink = JsonlSink(folder, stem, rotate, fields, closed)
        self.pending: list[Any] = []
        """Encoded requests (the sink's chunks) waiting for the writer thread."""
        self.pending_bytes = 0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="request-log", daemon=True)
        self.thread.start()

    def sampled(self, request_id: str) -> bool:
        """Whether this request is logged: the same answer on every server for the same id."""
        return sampled(request_id, self.rate)

    def add(self, request_id: str, columns: Columns, predictions: Sequence[Any],
            scores: Sequence[float]) -> None:
        """The request's rows as they came (strings as text, nulls as null) and the answers,
        encoded here (see the module's docstring for why not in the writer thread)."""
        chunk = self.sink.encode(Sampled(time.time(), request_id, columns, predictions, scores))
        with self.lock:
            self.pending.append(chunk)
            self.pending_bytes += self.sink.nbytes(chunk)
            full = self.pending_bytes >= FLUSH_BYTES
        if full:
            self.wake.set()

    def _loop(self) -> None:
        while not self.stopping:
            self.wake.wait(FLUSH_SECONDS)
            self.wake.clear()
            self._flush()
        self._flush()
        self.sink.close()

    def _flush(self) -> None:
        with self.lock:
            chunks, self.pending, self.pending_bytes = self.pending, [], 0
        if chunks:
            self.sink.write(chunks)
        opened = self.sink.opened
        if self.max_age is not None and opened is not None and (
                time.monotonic() - opened >= self.max_age):
            self.sink.close()  # idle or not, the bucket is at most rotate_after behind

    def close(self) -> None:
        """Write what is buffered and close the file (called on shutdown, after draining), then
        give the uploader its bounded time to send the closed files."""
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout=10)
        if self.uploader is not None:
            self.uploader.close()
