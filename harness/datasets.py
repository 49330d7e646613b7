"""Streaming CSV/Parquet reading with bounded memory, typed by the spec's schema.

A file is read in record batches (pyarrow), never whole. Each expected column arrives in its
spec type. A value that does not fit (text in a float column, '1.5' in an int column) does not
abort the read: it becomes null in the batch and is tallied as a `TypeProblem` with its count and
first row, so the data gate can say "column 'x' expected float, found text 'abc' at row 17".
Rows are numbered from 1, not counting the header.

CSV cells are parsed typed at full speed; only when pyarrow rejects a value is that one column
re-read as text from the failing block on (the rows already delivered are skipped, not repeated).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from spec.errors import MlopsError
from spec.models import ColumnType

FileFormat = Literal["csv", "parquet"]
BLOCK_BYTES = 1 << 20
"""CSV block size (pyarrow's default): about 4,000 rows of 30 numeric columns per batch; larger
blocks measured slower here and hold more memory."""
PARQUET_BATCH_ROWS = 65_536
BATCH_ROWS = 65_536
"""Rows handed to consumers at once: small CSV blocks parse fastest, but per-batch numpy work
is cheaper on fewer, larger batches (about 15 MiB for 30 float columns)."""

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

    def describe(self, display: str) -> str:
        where = f" '{self.first_value}' at row {self.first_row}" if self.first_row else ""
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
    """Consecutive rows of a file: `start` is the 0-based index of the first one."""

    start: int
    data: pa.RecordBatch
    num_rows: int


class Dataset:
    """One data file, read in batches; `problems` fills in as batches are read."""

    def __init__(self, path: Path, display: str, file_format: FileFormat,
                 expected: Mapping[str, ColumnType]) -> None:
        self.path = path
        self.display = display
        self.format = file_format
        self.expected = dict(expected)
        self.problems: dict[str, TypeProblem] = {}
        self.malformed = MalformedRows()
        self.header = self._read_header()

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[Batch]:
        """Batches of the expected columns present in the file (or of `columns`), in spec types."""
        wanted = [c for c in (columns if columns is not None else self.expected) if c in self.header]
        self.problems = {}
        self.malformed = MalformedRows()
        source = self._parquet_batches(wanted) if self.format == "parquet" else self._csv_batches(
            wanted)
        yield from _coalesce(source)

    # --- CSV ---------------------------------------------------------------------------------

    def _read_header(self) -> list[str]:
        if not self.path.is_file():
            raise MlopsError(f"{self.display}: file not found" if not self.path.exists()
                             else f"{self.display}: not a file")
        if self.format == "parquet":
            return list(self._parquet_file().schema_arrow.names)
        reader = self._open_csv([], set(), skip=0)
        names = list(reader.schema.names)
        reader.close()
        return names

    def _open_csv(self, wanted: Sequence[str], text_columns: set[str],
                  skip: int) -> pcsv.CSVStreamingReader:
        def on_malformed(row: pcsv.InvalidRow) -> str:
            if not self.malformed.count:
                self.malformed.first_text = row.text[:80]
                self.malformed.expected_fields = row.expected_columns
                self.malformed.first_fields = row.actual_columns
            self.malformed.count += 1
            return "skip"

        types = {name: pa.string() if name in text_columns else ARROW_TYPES[self.expected[name]]
                 for name in wanted if name in self.expected}
        try:
            return pcsv.open_csv(
                self.path,
                read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, skip_rows_after_names=skip),
                parse_options=pcsv.ParseOptions(invalid_row_handler=on_malformed),
                convert_options=pcsv.ConvertOptions(column_types=types, include_columns=wanted,
                                                    strings_can_be_null=True),
            )
        except pa.ArrowInvalid as error:
            if _CSV_COLUMN.search(str(error)):
                raise
            raise self._unreadable(error) from None
        except OSError as error:
            raise MlopsError(f"{self.display}: cannot read the file: {error}") from None

    def _csv_batches(self, wanted: list[str]) -> Iterator[Batch]:
        text_columns: set[str] = set()
        delivered = 0
        # pyarrow reads every column for an empty list; one column still counts the rows
        included = wanted or self.header[:1]
        while True:
            try:
                reader = self._open_csv(included, text_columns, skip=delivered)
                with reader:
                    for record_batch in reader:
                        batch = self._fix_types(record_batch, wanted, text_columns, delivered)
                        delivered += batch.num_rows
                        yield batch
                return
            except pa.ArrowInvalid as error:
                text_columns.add(self._rejected_column(error, text_columns))

    def _rejected_column(self, error: pa.ArrowInvalid, text_columns: set[str]) -> str:
        match = _CSV_COLUMN.search(str(error))
        if not match:
            raise self._unreadable(error) from None
        name = self.header[int(match.group(1))]
        if name in text_columns:  # already text: the failure is something else
            raise self._unreadable(error) from None
        return name

    def _unreadable(self, error: Exception) -> MlopsError:
        message = str(error).strip()
        if message == "Empty CSV file":
            return MlopsError(f"{self.display}: the file is empty; expected a header row")
        return MlopsError(f"{self.display}: cannot read as {self.format.upper()}: {message}")

    def _fix_types(self, record_batch: pa.RecordBatch, wanted: list[str], text_columns: set[str],
                   start: int) -> Batch:
        rows = record_batch.num_rows
        names = [name for name in record_batch.schema.names if name in wanted]
        if not text_columns & set(names) and len(names) == record_batch.num_columns:
            return Batch(start, record_batch, rows)
        arrays = [self._from_text(name, record_batch.column(name), start)
                  if name in text_columns else record_batch.column(name) for name in names]
        return Batch(start, pa.RecordBatch.from_arrays(arrays, names=names), rows)

    def _from_text(self, name: str, text: pa.Array, start: int) -> pa.Array:
        """Convert a text column to its spec type; values that do not fit become null."""
        dtype = self.expected[name]
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

    # --- Parquet -----------------------------------------------------------------------------

    def _parquet_file(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as error:
            raise self._unreadable(error) from None

    def _parquet_batches(self, wanted: list[str]) -> Iterator[Batch]:
        parquet = self._parquet_file()
        schema = parquet.schema_arrow
        readable = []
        for name in wanted:
            found = schema.field(name).type
            if _fits(found, self.expected[name]):
                readable.append(name)
            else:
                self.problems[name] = TypeProblem(name, self.expected[name],
                                                  f"parquet type {found}",
                                                  parquet.metadata.num_rows)
        start = 0
        try:
            for record_batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS,
                                                     columns=readable):
                arrays = [pc.cast(record_batch.column(name), ARROW_TYPES[self.expected[name]])
                          for name in readable]
                yield Batch(start, pa.RecordBatch.from_arrays(arrays, names=readable),
                            record_batch.num_rows)
                start += record_batch.num_rows
        except (pa.ArrowInvalid, OSError) as error:
            raise self._unreadable(error) from None


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
    return Batch(batches[0].start, chunks[0] if len(chunks) == 1 else batches[0].data, rows)
