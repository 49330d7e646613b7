"""One file profiled in one streaming pass, with the data gate's own reader.

The file is opened as a `harness.data.datasets.Dataset` (a CSV with every column read as text,
since its types are what is being inferred; a Parquet file with the types it declares) and cut
into the same parts the data gate reads. The parts are profiled on every core at once, each
batch by batch, and their profiles merged in file order: memory holds one batch per core, never
the file, and the result is the same whatever the number of cores.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from mlops.core.contract import ColumnType
from mlops.core.errors import MlopsError

from ..data.datasets import Dataset, FileFormat, Part
from .profile import ColumnProfile, Kind


@dataclass
class FileProfile:
    """Every column of one file (or of consecutive rows of it)."""

    display: str
    format: FileFormat
    header: list[str]
    declared: dict[str, str] = field(default_factory=dict)
    """Parquet: each column's type as the file declares it (for messages)."""
    rows: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    def merge(self, later: FileProfile) -> None:
        for name, column in self.columns.items():
            column.merge(later.columns[name], self.rows)
        self.rows += later.rows

    def where(self, row: int) -> str:
        """A row of this file as a location: 'data/train.csv:18' for a CSV (its line, the header
        being line 1), 'data/train.parquet row 17' for a Parquet file."""
        return f"{self.display}:{row + 1}" if self.format == "csv" else f"{self.display} row {row}"


def profile_file(path: Path, display: str, file_format: FileFormat) -> FileProfile:
    """The profile of every column of the file; MlopsError (naming `display`) when it cannot be
    read, has no rows, has malformed rows or repeats a column name."""
    header, kinds, declared = _columns(path, display, file_format)
    readable = {name: kind for name, kind in kinds.items() if kind != "other"}
    dataset = Dataset(path, display, file_format, {name: _dtype(kind) for name, kind in readable.items()})
    parts = dataset.parts()
    pool = ThreadPoolExecutor(max_workers=_cores())
    try:
        profiles = list(pool.map(lambda part: _profile_part(part, header, kinds, file_format, display),
                                 parts))
    finally:  # an unreadable part (or Ctrl-C) stops the work not yet started
        pool.shutdown(cancel_futures=True)
    dataset.collect(parts)
    if dataset.malformed.count:
        bad = dataset.malformed
        line = _first_malformed_line(path, bad.expected_fields)
        raise MlopsError(f"{display}{f':{line}' if line else ''}: {bad.count} row(s) with "
                         f"{bad.first_fields} fields where the header has {bad.expected_fields}, "
                         f"the first: {bad.first_text!r}")
    merged = profiles[0]
    for later in profiles[1:]:
        merged.merge(later)
    merged.declared = declared
    if not merged.rows:
        raise MlopsError(f"{display}: no rows below the header")
    return merged


def _columns(path: Path, display: str, file_format: FileFormat) -> tuple[list[str], dict[str, Kind],
                                                                          dict[str, str]]:
    """The header, each column's kind before reading (CSV: unknown; Parquet: its type's) and the
    Parquet types as written."""
    probe = Dataset(path, display, file_format, {})
    header = probe.header
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        where = f"{display}:1" if file_format == "csv" else display
        raise MlopsError(f"{where}: column '{repeated[0]}' appears {header.count(repeated[0])} "
                         "times in the header; every column needs its own name")
    if file_format == "csv":
        return header, dict.fromkeys(header, "null"), {}
    schema = probe.parquet_file().schema_arrow
    declared = {name: str(schema.field(name).type) for name in header}
    return header, {name: parquet_kind(schema.field(name).type) for name in header}, declared


def parquet_kind(found: pa.DataType) -> Kind:
    """The kind a Parquet column type holds; `other` for one data.schema cannot describe
    (timestamps, decimals, lists, ...), which the data gate could not read either."""
    if pa.types.is_dictionary(found):
        found = found.value_type
    if pa.types.is_floating(found):
        return "float"
    if pa.types.is_integer(found):
        return "int"
    if pa.types.is_boolean(found):
        return "bool"
    if pa.types.is_string(found) or pa.types.is_large_string(found):
        return "str"
    return "other"


def _dtype(kind: Kind) -> ColumnType:
    """The dtype the data gate's reader reads a column as: text for CSV (kind still unknown)."""
    if kind == "bool" or kind == "int" or kind == "float":
        return kind
    return "str"


def _profile_part(part: Part, header: list[str], kinds: Mapping[str, Kind], file_format: FileFormat,
                  display: str) -> FileProfile:
    profile = FileProfile(display, file_format, header,
                          columns={name: ColumnProfile(kind="other" if kinds[name] == "other" else "null")
                                   for name in header})
    for batch in part.batches():
        for name in batch.data.schema.names:
            values, column = batch.data.column(name), profile.columns[name]
            if file_format == "csv":
                column.observe_text(values, profile.rows)
            else:
                column.observe_typed(values, kinds[name], profile.rows)
        profile.rows += batch.num_rows
    return profile


def _first_malformed_line(path: Path, fields: int) -> int:
    """The line of the first CSV row whose field count is not the header's (0 if not found):
    read again only on this error path, with Python's csv module, which counts the lines."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if row and len(row) != fields:
                return reader.line_num
    return 0


def _cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
