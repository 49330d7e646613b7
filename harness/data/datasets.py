"""Streaming CSV/Parquet reading with bounded memory, typed by the spec's schema.

A file (local or in object storage, through pyarrow's filesystems: `core.storage`) is read in
record batches, never whole. It is cut into parts (a CSV at line ends
every `PART_BYTES`, a Parquet file at row-group boundaries) that can be read at the same time on
different cores, each on its own; `Dataset.batches` reads them one after another. Parts depend only
on the file, never on the number of cores, so everything computed from them is reproducible.

Each expected column arrives in its spec type. A value that does not fit (text in a float column,
'1.5' in an int column) does not abort the read: it becomes null in the batch and is tallied as a
`TypeProblem` with its count and first row, so the data gate can say "column 'x' expected float,
found text 'abc' at row 17". Rows are numbered from 1, not counting the header.

CSV cells are parsed typed at full speed; only when pyarrow rejects a value is the part parsed
again with that one column as text (the rows already delivered are dropped, not repeated).

A file in a Hive-partitioned folder (`dt=2026-11-01/country=DE/part-0.parquet`) also has its path's
partition keys as columns, one value for all its rows (`partition_values`). A key is in `header` (so
the data gate's schema check, quality rules, drift and row fingerprints see it) only when the
spec's schema declares it, typed as declared: an undeclared folder level was never data, and
showing it would add a column the schema check warns about and drift compares on every existing
partitioned dataset. A reader may still ask for any key by name (`mlops predict`'s batch.keys), as
text. A declared key joins duplicate detection like any column: the same values under `dt=1` and
`dt=2` are two different rows, not a duplicate.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.fs as pafs

from mlops.core.errors import MlopsError
from mlops.core.object_stores import STORE_ERRORS, describe
from mlops.core.storage import DataFile, PartitionKeyError
from mlops.spec.models import ColumnType

if TYPE_CHECKING:
    import pyarrow.parquet as pq
    from _typeshed import WriteableBuffer

MalformedHandler = Callable[[pcsv.InvalidRow], str]

FileFormat = Literal["csv", "parquet"]
BLOCK_BYTES = 1 << 20
"""CSV block size (pyarrow's default): about 4,000 rows of 30 numeric columns per batch; larger
blocks measured slower here and hold more memory."""
PART_BYTES = 32 << 20
"""CSV part size: large enough that a part's fixed costs vanish, small enough that two cores stay
busy until the end of a file of a few hundred MiB."""
PART_ROWS = 250_000
"""Parquet parts gather whole row groups until they hold at least this many rows."""
PARQUET_BATCH_ROWS = 65_536
BATCH_ROWS = 65_536
"""Rows handed to consumers at once: small CSV blocks parse fastest, but per-batch numpy work
is cheaper on fewer, larger batches (about 15 MiB for 30 float columns)."""
_PART_SHIFT = 40
"""Row keys are part << 40 | row within the part: parts hold fewer than 2**40 rows."""

ARROW_TYPES: dict[str, pa.DataType] = {
    "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string(),
    "category": pa.string(),
}
_CSV_COLUMN = re.compile(r"In CSV column #(\d+)")
_FLOAT_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$|^\s*[-+]?(inf|infinity|nan)\s*$"
_INT_TEXT = r"^\s*[-+]?\d+\s*$"
_TRUE = ("true", "1")
_BOOL_TEXT = ("true", "false", "1", "0")


@dataclass
class TypeProblem:
    """Values of one column that do not fit its spec type."""

    column: str
    expected: ColumnType
    found: str
    count: int = 0
    first_row: int = 0
    first_value: str = ""

    def describe(self, display: str, locate: Callable[[int], str] = str) -> str:
        """The sentence naming the column, the first value and where it is (`locate` names a row
        of a many-file dataset by its file)."""
        where = f" '{self.first_value}' at row {locate(self.first_row)}" if self.first_row else ""
        count = f" ({self.count} value{'s' if self.count != 1 else ''})" if self.first_row else ""
        return f"{display}: column '{self.column}' expected {self.expected}, found {self.found}{where}{count}"


@dataclass
class MalformedRows:
    """CSV rows with the wrong number of fields; they are skipped and counted."""

    count: int = 0
    first_text: str = ""
    expected_fields: int = 0
    first_fields: int = 0


@dataclass(frozen=True)
class Batch:
    """Consecutive rows of a file: `start` is the 0-based index of the first one (in the file from
    `Dataset.batches`, in the part from `Part.batches`); `part_start` is always within the part."""

    start: int
    data: pa.RecordBatch
    num_rows: int
    part: int = 0
    part_start: int = 0

    def row_keys(self) -> npt.NDArray[np.uint64]:
        """One distinct key per row, increasing through the file, the same however the parts are
        scheduled (it names the row by its part and its place in it)."""
        first = (self.part << _PART_SHIFT) + self.part_start
        return np.arange(first, first + self.num_rows, dtype=np.uint64)


class Part:
    """Rows of a file that are read on their own. Row numbers in `problems` count from the part's
    first row; `rows` is known once `batches` has been read to the end, `known_rows` before any
    is read when the file's metadata says (Parquet), else None (CSV)."""

    known_rows: int | None = None

    def __init__(self, dataset: Dataset, index: int, columns: list[str]) -> None:
        self.dataset = dataset
        self.index = index
        self.columns = columns
        self.stored = [name for name in columns if name not in dataset.keys]
        """The columns read from the file; the others are partition keys of its path."""
        self.rows = 0
        self.problems: dict[str, TypeProblem] = {}
        self.malformed = MalformedRows()

    def batches(self) -> Iterator[Batch]:
        for batch in _coalesce(self._read()):
            self.rows += batch.num_rows
            yield batch

    def _read(self) -> Iterator[Batch]:
        raise NotImplementedError

    def _batch(self, start: int, data: pa.RecordBatch, rows: int | None = None) -> Batch:
        """The rows read from the file (`rows` of them when no stored column is read), with the
        partition keys asked for, in the order of `columns`."""
        rows = data.num_rows if rows is None else rows
        if len(self.stored) != len(self.columns):
            keys = self.dataset.keys
            data = pa.RecordBatch.from_arrays(
                [pa.repeat(keys[name], rows) if name in keys else data.column(name)
                 for name in self.columns], names=self.columns)
        return Batch(start, data, rows, self.index, start)


class _CsvPart(Part):
    """Bytes [begin, end) of a CSV file, cut at line ends; only the first part has the header."""

    def __init__(self, dataset: Dataset, index: int, columns: list[str], begin: int,
                 end: int) -> None:
        super().__init__(dataset, index, columns)
        self.begin, self.end = begin, end

    def _read(self) -> Iterator[Batch]:
        text_columns: set[str] = set()
        delivered = 0
        # pyarrow reads every column for an empty list; one column still counts the rows
        included = self.stored or self.dataset.stored[:1]
        while True:
            self.malformed = MalformedRows()  # a restart parses the part again from its start
            resume, passed = delivered, 0
            try:
                with self._open(included, text_columns) as reader:
                    for record_batch in reader:
                        if passed < resume:  # delivered before the restart
                            dropped = min(resume - passed, record_batch.num_rows)
                            passed += dropped
                            record_batch = record_batch.slice(dropped)
                            if not record_batch.num_rows:
                                continue
                        batch = self._fix_types(record_batch, text_columns, delivered)
                        delivered += batch.num_rows
                        yield batch
                return
            except pa.ArrowInvalid as error:
                text_columns.add(self._rejected_column(error, text_columns))
            except STORE_ERRORS as error:  # the store failed a read mid-part
                raise self.dataset.unreadable(error) from None

    def _open(self, included: Sequence[str], text_columns: set[str]) -> pcsv.CSVStreamingReader:
        def on_malformed(row: pcsv.InvalidRow) -> str:
            if not self.malformed.count:
                self.malformed.first_text = row.text[:80]
                self.malformed.expected_fields = row.expected_columns
                self.malformed.first_fields = row.actual_columns
            self.malformed.count += 1
            return "skip"

        dataset = self.dataset
        names = dataset.stored if self.begin else None
        source = _ByteRange(dataset.open(), self.begin, self.end)
        try:
            return dataset.open_csv(source, included, text_columns, names, on_malformed)
        except BaseException:
            source.close()
            raise

    def _rejected_column(self, error: pa.ArrowInvalid, text_columns: set[str]) -> str:
        match = _CSV_COLUMN.search(str(error))
        if not match:
            raise self.dataset.unreadable(error) from None
        name = self.dataset.stored[int(match.group(1))]
        if name in text_columns:  # already text: the failure is something else
            raise self.dataset.unreadable(error) from None
        return name

    def _fix_types(self, record_batch: pa.RecordBatch, text_columns: set[str], start: int) -> Batch:
        names = [name for name in record_batch.schema.names if name in self.stored]
        if not text_columns & set(names) and len(names) == record_batch.num_columns:
            return self._batch(start, record_batch)
        arrays = [self._from_text(name, record_batch.column(name), start)
                  if name in text_columns else record_batch.column(name) for name in names]
        return self._batch(start, pa.RecordBatch.from_arrays(arrays, names=names),
                           record_batch.num_rows)

    def _from_text(self, name: str, text: pa.Array, start: int) -> pa.Array:
        """Convert a text column to its spec type; values that do not fit become null."""
        dtype = self.dataset.expected[name]
        if dtype == "bool":
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(text))
            valid = pc.is_in(lowered, value_set=pa.array(_BOOL_TEXT))
            converted = pc.if_else(valid, pc.is_in(lowered, value_set=pa.array(_TRUE)), None)
        else:
            valid = pc.match_substring_regex(text, _INT_TEXT if dtype == "int" else _FLOAT_TEXT,
                                             ignore_case=True)
            kept = pc.if_else(valid, pc.utf8_trim_whitespace(text), pa.scalar(None, pa.string()))
            converted = pc.cast(kept, ARROW_TYPES[dtype])
        bad = pc.and_(pc.invert(pc.fill_null(valid, True)), pc.is_valid(text))
        count = pc.sum(bad).as_py() or 0
        if count:
            first = pc.index(bad, True).as_py()
            value = str(text[first].as_py())
            numeric = re.match(_FLOAT_TEXT, value, re.IGNORECASE) is not None
            found = "non-integer" if dtype == "int" and numeric else "text"
            problem = self.problems.setdefault(
                name, TypeProblem(name, dtype, found, 0, start + first + 1, value))
            problem.count += count
        return converted


class _ParquetPart(Part):
    """Whole row groups of a Parquet file; columns of the wrong type were left out beforehand."""

    def __init__(self, dataset: Dataset, index: int, columns: list[str],
                 row_groups: list[int], rows: int) -> None:
        super().__init__(dataset, index, columns)
        self.row_groups = row_groups
        self.known_rows = rows

    def _read(self) -> Iterator[Batch]:
        expected = self.dataset.expected
        start = 0
        try:
            parquet = self.dataset.parquet_file()
            for record_batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS,
                                                     row_groups=self.row_groups,
                                                     columns=self.stored):
                arrays = [pc.cast(record_batch.column(name), ARROW_TYPES[expected[name]])
                          if name in expected else record_batch.column(name)
                          for name in self.stored]
                yield self._batch(start, pa.RecordBatch.from_arrays(arrays, names=self.stored),
                                  record_batch.num_rows)
                start += record_batch.num_rows
        except STORE_ERRORS as error:
            raise self.dataset.unreadable(error) from None


class _ByteRange(io.RawIOBase):
    """Bytes [begin, end) of a file as a stream of their own, for pyarrow's CSV reader."""

    def __init__(self, file: pa.NativeFile, begin: int, end: int) -> None:
        super().__init__()
        self._file = file
        self._file.seek(begin)
        self._left = end - begin

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")[:self._left]
        count = int(self._file.readinto(view))
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


class Dataset:
    """One data file. `problems` and `malformed` describe the last complete read. `stored` are the
    file's own columns, `keys` its path's partition values, `header` the stored columns and the
    keys the spec types (see the module docstring), `available` every column a reader may ask
    for."""

    def __init__(self, path: Path | DataFile, display: str, file_format: FileFormat,
                 expected: Mapping[str, ColumnType]) -> None:
        if isinstance(path, Path):
            _check_local(path, display)
            path = DataFile(pafs.LocalFileSystem(), str(path.absolute()), display,
                            path.stat().st_size)
        self.file = path
        self.display = display
        self.format = file_format
        self.expected = dict(expected)
        self.problems: dict[str, TypeProblem] = {}
        self.malformed = MalformedRows()
        self.stored = self._read_header()
        self.keys = partition_values(path.partitions, self.stored, self.expected, display)
        self.header = [*self.stored, *(key for key in self.keys if key in self.expected)]
        self.available = [*self.stored, *self.keys]

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[Batch]:
        """Batches of the expected columns present in the file (or of `columns`), in spec types,
        the parts one after another."""
        parts = self.parts(columns)
        offset = 0
        for part in parts:
            for batch in part.batches():
                yield replace(batch, start=offset + batch.start)
            offset += part.rows
        self.collect(parts)

    def parts(self, columns: Sequence[str] | None = None) -> list[Part]:
        """Parts to read (in any order, at the same time); hand them to `collect` when all are read."""
        wanted = [c for c in (columns if columns is not None else self.expected)
                  if c in self.available]
        self.problems = {}
        self.malformed = MalformedRows()
        if self.format == "parquet":
            return self._parquet_parts(wanted)
        cuts = self._csv_cuts()
        return [_CsvPart(self, index, wanted, begin, end)
                for index, (begin, end) in enumerate(pairwise(cuts))]

    def collect(self, parts: Sequence[Part]) -> None:
        """Gather the parts' problems and malformed rows, numbering rows through the whole file."""
        offset = 0
        for part in parts:
            for name, found in part.problems.items():
                problem = self.problems.get(name)
                if problem is None:
                    self.problems[name] = replace(found, first_row=found.first_row + offset)
                else:
                    problem.count += found.count
            if part.malformed.count:
                if not self.malformed.count:
                    self.malformed = replace(part.malformed, count=0)
                self.malformed.count += part.malformed.count
            offset += part.rows

    # --- CSV ---------------------------------------------------------------------------------

    def open(self) -> pa.NativeFile:
        """The file for random access (a local file, or ranged reads of an object)."""
        try:
            return self.file.filesystem.open_input_file(self.file.path)
        except STORE_ERRORS as error:
            raise MlopsError(f"{self.display}: cannot read the file: {describe(error)}") from None

    def _read_header(self) -> list[str]:
        if self.format == "parquet":
            return list(self.parquet_file().schema_arrow.names)
        with self.open() as source:
            self._refuse_binary(source.read(_SNIFF_BYTES))
            source.seek(0)
            with self.open_csv(source, [], set(), None, _skip) as reader:
                return list(reader.schema.names)

    def _refuse_binary(self, start: bytes) -> None:
        """A Parquet file (or any binary file) given as CSV is named as such before pyarrow's
        CSV reader meets rows it cannot even decode."""
        if start.startswith(_PARQUET_MAGIC):
            raise MlopsError(f"{self.display}: cannot read as CSV: it is a Parquet file (set "
                             "data.format: parquet)")
        if b"\0" in start:
            raise MlopsError(f"{self.display}: cannot read as CSV: it is not UTF-8 text (a binary "
                             "file, or another encoding such as UTF-16)")

    def open_csv(self, source: io.RawIOBase | pa.NativeFile, included: Sequence[str],
                 text_columns: set[str], names: list[str] | None,
                 on_malformed: MalformedHandler) -> pcsv.CSVStreamingReader:
        """A streaming reader of `source` (the file, or a part of it without the header when
        `names` are given) with the spec's column types."""
        types = {name: pa.string() if name in text_columns else ARROW_TYPES[self.expected[name]]
                 for name in included if name in self.expected}
        try:
            return pcsv.open_csv(
                source,
                read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, column_names=names),
                parse_options=pcsv.ParseOptions(invalid_row_handler=on_malformed),
                convert_options=pcsv.ConvertOptions(column_types=types, include_columns=included,
                                                    strings_can_be_null=True),
            )
        except pa.ArrowInvalid as error:
            if _CSV_COLUMN.search(str(error)):
                raise
            raise self.unreadable(error) from None
        except STORE_ERRORS as error:
            raise MlopsError(f"{self.display}: cannot read the file: {describe(error)}") from None

    def _csv_cuts(self) -> list[int]:
        """Part boundaries: 0, then the first line start at or after each PART_BYTES step, then
        the file's size."""
        size = self.file.size
        cuts = [0]
        with self.open() as handle:
            position = PART_BYTES
            while position < size:
                handle.seek(position - 1)
                cut = _next_line(handle)
                if cut >= size:
                    break
                cuts.append(cut)
                position = cut + PART_BYTES
        return [*cuts, size]

    def unreadable(self, error: Exception) -> MlopsError:
        message = describe(error).strip()
        if message == "Empty CSV file":
            return MlopsError(f"{self.display}: the file is empty; expected a header row")
        return MlopsError(f"{self.display}: cannot read as {self.format.upper()}: {message}")

    # --- Parquet -----------------------------------------------------------------------------

    def parquet_file(self) -> pq.ParquetFile:
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.open())
        except STORE_ERRORS as error:
            raise self.unreadable(error) from None

    def _parquet_parts(self, wanted: list[str]) -> list[Part]:
        parquet = self.parquet_file()
        schema = parquet.schema_arrow
        readable = []
        for name in wanted:
            if name in self.keys:
                readable.append(name)
                continue
            found = schema.field(name).type
            if name not in self.expected or _fits(found, self.expected[name]):
                readable.append(name)  # a column the spec does not type is read as stored
            else:
                self.problems[name] = TypeProblem(name, self.expected[name],
                                                  f"parquet type {found}",
                                                  parquet.metadata.num_rows)
        groups: list[list[int]] = [[]]
        sizes = [0]
        for group in range(parquet.metadata.num_row_groups):
            if sizes[-1] >= PART_ROWS:
                groups.append([])
                sizes.append(0)
            groups[-1].append(group)
            sizes[-1] += parquet.metadata.row_group(group).num_rows
        return [_ParquetPart(self, index, readable, row_groups, rows)
                for index, (row_groups, rows) in enumerate(zip(groups, sizes, strict=True))]


def partition_values(partitions: Sequence[tuple[str, str | None]], stored: Sequence[str],
                     expected: Mapping[str, ColumnType], display: str) -> dict[str, pa.Scalar]:
    """A file's partition keys as typed values (the spec's type, else text); raises
    PartitionKeyError naming the file for a key that is also a stored column or a value that does
    not fit."""
    values: dict[str, pa.Scalar] = {}
    for key, text in partitions:
        if key in stored:
            raise PartitionKeyError(f"{display}: column '{key}' is both in the file and a partition key "
                             f"of its path ({key}={text}); rename one of them")
        dtype = expected.get(key, "str")
        value = None if text is None else _key_value(text, dtype)
        if text is not None and value is None:
            raise PartitionKeyError(f"{display}: partition key '{key}' expected {dtype} (data.schema."
                             f"{key}), found '{text}' in the path")
        values[key] = pa.scalar(value, ARROW_TYPES[dtype])
    return values


def _key_value(text: str, dtype: ColumnType) -> str | int | float | bool | None:
    """A partition value in its spec type, or None when it does not fit."""
    if dtype == "int":
        return int(text) if re.match(_INT_TEXT, text) else None
    if dtype == "float":
        return float(text) if re.match(_FLOAT_TEXT, text, re.IGNORECASE) else None
    if dtype == "bool":
        lowered = text.strip().lower()
        return lowered in _TRUE if lowered in _BOOL_TEXT else None
    return text


def _check_local(path: Path, display: str) -> None:
    if not path.is_file():
        raise MlopsError(f"{display}: file not found" if not path.exists() else f"{display}: not a file")


_SNIFF_BYTES = 4096
_PARQUET_MAGIC = b"PAR1"


def _skip(_: pcsv.InvalidRow) -> str:
    return "skip"


def _next_line(handle: pa.NativeFile) -> int:
    """The offset just after the next newline from the handle's position (or the end of file)."""
    position = int(handle.tell())
    while chunk := handle.read(1 << 16):
        found = chunk.find(b"\n")
        if found >= 0:
            return position + int(found) + 1
        position += len(chunk)
    return position


def _fits(found: pa.DataType, expected: ColumnType) -> bool:
    """Whether a Parquet column type holds values of the spec type without loss of meaning."""
    if pa.types.is_dictionary(found):
        found = found.value_type
    if expected == "float":
        return bool(pa.types.is_floating(found) or pa.types.is_integer(found))
    if expected == "int":
        return bool(pa.types.is_integer(found))
    if expected == "bool":
        return bool(pa.types.is_boolean(found))
    return bool(pa.types.is_string(found) or pa.types.is_large_string(found))


def _coalesce(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Join consecutive small batches into ones of at least BATCH_ROWS rows."""
    pending: list[Batch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= BATCH_ROWS:
            yield _join(pending, rows)
            pending, rows = [], 0
    if pending:
        yield _join(pending, rows)


def _join(batches: list[Batch], rows: int) -> Batch:
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches([b.data for b in batches]).combine_chunks()
    chunks = table.to_batches()
    first = batches[0]
    return replace(first, data=chunks[0] if len(chunks) == 1 else first.data, num_rows=rows)
