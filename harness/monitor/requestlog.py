"""Reading the server's sampled request log over a time window (schema: serving/request_log.py).

The log is a local folder, or the object-store prefix the servers upload to
(serving.request_log.upload: `<prefix>/<pod>/<file>`, read through core/storage's filesystems).
Every `*.jsonl` and `*.parquet` file below it is read, one file at a time and streamed (rotated
files included; a file last modified before the window starts is skipped unread: an uploaded
object's time is its upload, after every row it holds). A line or row that cannot be used is skipped
and counted with its `file:line`, never fatal: one torn write must not hide an hour of traffic.
A Parquet file the server is still writing has no footer yet; it is listed as unreadable.
Numeric features go into a bounded uniform sample (the data gate's `Reservoir`), so memory stays
flat however busy the window was. Rows are tallied by `model_digest` (the SHA-256 of the ONNX file
that answered; logs written before the server recorded it count under `UNRECORDED`), so a verdict
names the models it judged. Rows of serving.challenger's server (`variant: challenger`) are left
out: the window is the champion's traffic, and `challenger` judges the other model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeGuard

import numpy as np
import orjson

from mlops.core.errors import MlopsError
from mlops.core.locations import scheme

from ..stats import Reservoir, category_key
from .feedback import Key

CHUNK_ROWS = 8192
READ_BYTES = 1 << 20
SUFFIXES = (".jsonl", ".parquet")
SHOWN_PROBLEMS = 5
UNRECORDED = "unrecorded"
CHAMPION = "champion"
"""The variant of a row that names none: logs written before the server recorded it."""
"""How many skipped lines (or files) the report names; the rest are counted."""


@dataclass(frozen=True)
class Problem:
    """A line, row or file that was skipped, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Served:
    """What the model answered for one logged row, kept only when feedback names it."""

    prediction: Any
    score: float


@dataclass
class LogWindow:
    """Tallies and samples of the rows logged inside [start, end)."""

    folder: Path | str
    start: float
    end: float
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    files: int = 0
    rows: int = 0
    outside: int = 0
    other_models: int = 0
    corrupt: int = 0
    problems: list[Problem] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)
    sample: Reservoir = field(init=False)
    scores: Reservoir = field(init=False)
    categories: dict[str, dict[str, int]] = field(init=False)
    predictions: dict[str, int] = field(default_factory=dict)
    served: dict[Key, Served] = field(default_factory=dict)
    digests: dict[str, int] = field(default_factory=dict)
    """Judged rows per model digest (`sha256:<hex>`, or `UNRECORDED`)."""

    def __post_init__(self) -> None:
        self.sample = Reservoir(max(1, len(self.numeric)))
        self.scores = Reservoir(1)
        self.categories = {name: {} for name in self.categorical}

    def served_by(self) -> str:
        """The digests the judged rows came from, most rows first: `sha256:ab12... (90 rows)`."""
        ranked = sorted(self.digests.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{digest} ({rows} row{'s' if rows != 1 else ''})"
                         for digest, rows in ranked)

    def skip(self, where: str, reason: str) -> None:
        self.corrupt += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(Problem(where, reason))


@dataclass(frozen=True)
class LogFile:
    """One log file: on the local disk (`filesystem` None) or in object storage."""

    path: str
    name: str
    """How messages name it: its path below the folder or prefix (`pod-a/requests-....jsonl`)."""
    mtime: float
    filesystem: Any = None

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix

    def open(self) -> IO[bytes]:
        """A stream of the file's bytes (random access for Parquet's footer)."""
        if self.filesystem is None:
            return Path(self.path).open("rb")
        opened: IO[bytes] = (self.filesystem.open_input_file(self.path) if self.suffix == ".parquet"
                             else self.filesystem.open_input_stream(self.path))
        return opened


def log_files(location: Path | str) -> list[LogFile]:
    """The log files below a local folder or an object-store prefix, in name order; raises
    MlopsError naming the location when a store cannot be listed."""
    if isinstance(location, Path) or scheme(location) is None:
        folder = Path(location)
        found = []
        for path in folder.rglob("*"):
            try:
                if path.suffix in SUFFIXES and path.is_file():
                    found.append(LogFile(str(path), path.relative_to(folder).as_posix(),
                                         path.stat().st_mtime))
            except FileNotFoundError:  # rotated away (deleted) while listing
                continue
        return sorted(found, key=lambda file: file.name)
    return _stored_files(location)


def _stored_files(location: str) -> list[LogFile]:
    import pyarrow.fs as pafs

    from mlops.core.object_stores import STORE_ERRORS, describe
    from mlops.core.storage import open_location

    filesystem, base = open_location(location, Path.cwd())
    bucket = base.split("/", 1)[0]
    try:
        infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=True,
                                                          allow_not_found=True))
        missing = not infos and filesystem.get_file_info(bucket).type == pafs.FileType.NotFound
    except STORE_ERRORS as error:
        raise MlopsError(f"{location}: cannot list the request log: {describe(error)}") from None
    if missing:
        # No prefix yet is a quiet start (nothing uploaded); no bucket is a wrong setting.
        raise MlopsError(f"{location}: bucket '{bucket}' not found")
    return sorted((LogFile(info.path, PurePosixPath(info.path).relative_to(base).as_posix(),
                           info.mtime.timestamp() if info.mtime else math.inf, filesystem)
                   for info in infos
                   if info.type == pafs.FileType.File and info.extension in ("jsonl", "parquet")),
                  key=lambda file: file.name)


def read_window(folder: Path | str, start: float, end: float, model: str,
                numeric: Sequence[str], categorical: Sequence[str],
                wanted: frozenset[Key]) -> LogWindow:
    """Rows with start <= timestamp < end; `wanted` are the (request_id, row) keys to keep."""
    window = LogWindow(folder, start, end, tuple(numeric), tuple(categorical))
    reader = _RowReader(window, model, wanted)
    for file in log_files(folder):
        if file.mtime < start:
            continue
        window.files += 1
        for where, record in file_records(file, window.unreadable):
            reader.add(where, record)
    reader.flush()
    return window


def file_records(file: LogFile, unreadable: list[Problem]) -> Iterator[tuple[str, Any]]:
    """Every record of one log file with its `file:line` (a line that is not JSON as a broken
    record, not a mapping); a file that cannot be read is added to `unreadable`."""
    return _jsonl(file, unreadable) if file.suffix == ".jsonl" else _parquet(file, unreadable)


def _jsonl(file: LogFile, unreadable: list[Problem]) -> Iterator[tuple[str, Any]]:
    from mlops.core.object_stores import STORE_ERRORS, describe

    handle = _open(file, unreadable)
    if handle is None:
        return
    with handle:
        try:
            for number, line in enumerate(_lines(handle), start=1):
                if not line.strip():
                    continue
                where = f"{file.name}:{number}"
                try:
                    yield where, orjson.loads(line.rstrip(b"\r\n"))
                except orjson.JSONDecodeError as error:
                    yield where, _Broken(f"not JSON ({error.msg})")
        except STORE_ERRORS as error:  # the store failed a read mid-file: the rest is unread
            unreadable.append(Problem(file.name, f"cannot read: {describe(error)}"))


def _open(file: LogFile, unreadable: list[Problem]) -> IO[bytes] | None:
    """The file's stream, or None: gone (rotated away since the listing), or unreadable (noted)."""
    from mlops.core.object_stores import STORE_ERRORS, describe

    try:
        return file.open()
    except FileNotFoundError:
        return None
    except STORE_ERRORS as error:
        unreadable.append(Problem(file.name, f"cannot read: {describe(error)}"))
        return None


def _lines(handle: IO[bytes]) -> Iterator[bytes]:
    """Lines a megabyte read at a time: pyarrow's object-store streams have no readline."""
    rest = b""
    while chunk := handle.read(READ_BYTES):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def _parquet(file: LogFile, unreadable: list[Problem]) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    from mlops.core.object_stores import STORE_ERRORS, describe

    handle = _open(file, unreadable)
    if handle is None:
        return
    with handle:
        try:
            parquet = pq.ParquetFile(handle)
        except STORE_ERRORS as error:
            unreadable.append(Problem(file.name, f"cannot read as Parquet (still being written, "
                                                 f"or truncated): {describe(error)}"))
            return
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
                for record in batch.to_pylist():
                    number += 1
                    yield f"{file.name}:{number}", record
        except STORE_ERRORS as error:  # the store failed a read mid-file: the rest is unread
            unreadable.append(Problem(file.name, f"cannot read: {describe(error)}"))


@dataclass(frozen=True)
class _Broken:
    reason: str


class _RowReader:
    """Validates records and moves them into the window's samples, a chunk at a time."""

    def __init__(self, window: LogWindow, model: str, wanted: frozenset[Key]) -> None:
        self.window = window
        self.model = model
        self.wanted = wanted
        self.columns = (*window.numeric, *window.categorical)
        self.pending: list[list[float]] = []
        self.pending_scores: list[float] = []

    def add(self, where: str, record: Any) -> None:
        window = self.window
        if isinstance(record, _Broken):
            window.skip(where, record.reason)
            return
        if not isinstance(record, Mapping):
            window.skip(where, f"expected an object, got {type(record).__name__}")
            return
        stamp = record.get("timestamp")
        if not _is_number(stamp):
            window.skip(where, f"'timestamp' must be Unix seconds, got {stamp!r}")
            return
        if not window.start <= stamp < window.end:
            window.outside += 1
            return
        if record.get("model", self.model) != self.model or record.get(
                "variant", CHAMPION) != CHAMPION:
            window.other_models += 1
            return
        problem = self._problem(record)
        if problem is not None:
            window.skip(where, problem)
            return
        values: list[Any] = [record[name] for name in self.columns]
        score = record.get("score")
        if not _is_number(score) or "prediction" not in record:
            window.skip(where, "missing 'prediction' or a numeric 'score'")
            return
        window.rows += 1
        digest = record.get("model_digest")
        digest = digest if isinstance(digest, str) and digest else UNRECORDED
        window.digests[digest] = window.digests.get(digest, 0) + 1
        self.pending.append([math.nan if v is None else v for v in values[: len(window.numeric)]])
        self.pending_scores.append(float(score))
        for name, value in zip(window.categorical, values[len(window.numeric):], strict=True):
            if value is None:
                continue
            counts = window.categories[name]
            category = category_key(value)
            counts[category] = counts.get(category, 0) + 1
        label = str(record["prediction"])
        window.predictions[label] = window.predictions.get(label, 0) + 1
        if self.wanted:
            key = (str(record.get("request_id")), _row(record.get("row")))
            if key in self.wanted:
                window.served[key] = Served(record["prediction"], float(score))
        if len(self.pending) >= CHUNK_ROWS:
            self.flush()

    def _problem(self, record: Mapping[str, Any]) -> str | None:
        """Why a record's features cannot be used: a column is absent, a number is not one, a
        category is neither text nor a number (null is a missing value, which is fine)."""
        for name in self.window.numeric:
            if name not in record:
                return f"feature '{name}' missing"
            value = record[name]
            if value is not None and not _is_number(value):
                return f"feature '{name}' not a number: {value!r}"
        for name in self.window.categorical:
            if name not in record:
                return f"feature '{name}' missing"
            value = record[name]
            if value is not None and not isinstance(value, str) and not _is_number(value):
                return f"feature '{name}' is not a category value: {value!r}"
        return None

    def flush(self) -> None:
        if not self.pending:
            return
        width = len(self.window.numeric)
        block = np.array(self.pending, dtype=np.float64).reshape(len(self.pending), width)
        self.window.sample.add(block if width else np.zeros((len(self.pending), 1)))
        self.window.scores.add(np.array(self.pending_scores, dtype=np.float64).reshape(-1, 1))
        self.pending, self.pending_scores = [], []


def _is_number(value: Any) -> TypeGuard[float]:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _row(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1
