"""One column over every file `mlops init` read: what the spec is inferred from.

The data gate checks every split against one schema, so a column's facts are those of all the
files together: its kind is the join of theirs, it is nullable when any file has a null, its range
and values cover them all. Where a fact was first seen is kept as a location ('data/train.csv:18')
for the errors that need one, looking at the files in the order given (train, test, current).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .profile import ColumnProfile, First, Kind, Number
from .profiling import FileProfile


@dataclass(frozen=True)
class Located:
    """A value and where it was found."""

    where: str
    value: str

    def describe(self) -> str:
        return f"'{self.value}' at {self.where}"


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    kind: Kind
    nulls: int
    first_null: str | None
    """Where the first null is, if any."""
    low: Number | None
    high: Number | None
    infinite_low: bool
    infinite_high: bool
    counts: dict[str, int] | None
    """Rows per distinct value over every file, or None beyond the cardinality limit."""
    not_integer: Located | None
    not_number: Located | None
    declared: tuple[str, ...]
    """Parquet: the types the files declare for it."""

    @property
    def nullable(self) -> bool:
        return self.nulls > 0

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")


def column_facts(name: str, files: Sequence[FileProfile]) -> ColumnFacts:
    """The facts of one column over the files that have it (at least one does)."""
    having = [(file, file.columns[name]) for file in files if name in file.columns]
    total = ColumnProfile()
    for _, column in having:
        total.merge(column, 0)
    first_null = next((file.where(column.nulls.first_row) for file, column in having
                       if column.nulls.count), None)
    return ColumnFacts(
        name, total.kind, total.nulls.count, first_null, total.low, total.high, total.infinite_low,
        total.infinite_high, total.counts,
        _first(having, lambda column: column.not_integer),
        _first(having, lambda column: column.not_number),
        tuple(sorted({file.declared[name] for file, _ in having if name in file.declared})),
    )


def _first(having: list[tuple[FileProfile, ColumnProfile]],
           which: Callable[[ColumnProfile], First]) -> Located | None:
    for file, column in having:
        found = which(column)
        if found.row:
            return Located(file.where(found.row), found.value)
    return None
