"""The feedback file: true labels that arrive after the fact, joined to logged rows by request id.

Columns: `request_id`, `row` (the row's index in its request; optional, 0 when absent: one-row
requests) and `label` (a class name from model.labels, a class index, or a number for regression).
CSV or Parquet, by extension. It is read before the log so the log scan keeps only the rows it names.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Key = tuple[str, int]
REQUIRED = ("request_id", "label")


@dataclass
class Feedback:
    """Labels by (request_id, row), where each came from, and the rows that could not be read."""

    display: str
    labels: dict[Key, str] = field(default_factory=dict)
    lines: dict[Key, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)

    @property
    def keys(self) -> frozenset[Key]:
        return frozenset(self.labels)


class FeedbackError(Exception):
    """The whole feedback file is unusable (missing columns, unreadable)."""


def read_feedback(path: Path, display: str) -> Feedback:
    feedback = Feedback(display)
    rows = _parquet_rows(path) if path.suffix == ".parquet" else _csv_rows(path, display)
    for line, record in rows:
        request_id, label = record.get("request_id"), record.get("label")
        row = _row(record.get("row"))
        if request_id in (None, "") or label in (None, "") or row is None:
            feedback.invalid.append(f"{display}:{line}")
            continue
        key = (str(request_id), row)
        feedback.labels[key] = str(label)
        feedback.lines[key] = line
    return feedback


def _csv_rows(path: Path, display: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        _require(reader.fieldnames or [], display)
        for record in reader:
            yield reader.line_num, record


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise FeedbackError(f"{path.name}: cannot read as Parquet: {error}") from None
    _require(table.column_names, path.name)
    yield from enumerate(table.to_pylist(), start=1)


def _require(columns: Sequence[str], display: str) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FeedbackError(f"{display}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                            "expected request_id, row, label")


def _row(value: Any) -> int | None:
    if value in (None, ""):
        return 0
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number >= 0 else None
