"""What the data checks need from some rows of a file: counts and first offenders, per column.

A tally covers consecutive rows numbered from its first; tallies of later rows merge into earlier
ones with their offset, so the parts of a file can be tallied apart and merged in file order. The
rules' sentences are made from these in `rules`; nothing here knows how a check reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlops.spec.models import Column

from ..stats import CategoryCounter
from . import arrow_numpy


@dataclass
class Offenders:
    """How many rows break a rule, and the first of them."""

    count: int = 0
    first_row: int = 0
    first_value: Any = None

    def add(self, mask: npt.NDArray[np.bool_], start: int,
            value_at: Callable[[int], Any] | None = None) -> None:
        found = int(np.count_nonzero(mask))
        if found and not self.count:
            index = int(np.argmax(mask))
            self.first_row = start + index + 1
            if value_at is not None:
                self.first_value = value_at(index)
        self.count += found

    def merge(self, later: Offenders, offset: int) -> None:
        """Fold in the offenders of rows that come `offset` rows after this tally's first row."""
        if later.count and not self.count:
            self.first_row, self.first_value = later.first_row + offset, later.first_value
        self.count += later.count


@dataclass
class ColumnTally:
    nulls: Offenders = field(default_factory=Offenders)
    below: Offenders = field(default_factory=Offenders)
    above: Offenders = field(default_factory=Offenders)
    outside: Offenders = field(default_factory=Offenders)

    def merge(self, later: ColumnTally, offset: int) -> None:
        for mine, theirs in ((self.nulls, later.nulls), (self.below, later.below),
                             (self.above, later.above), (self.outside, later.outside)):
            mine.merge(theirs, offset)


@dataclass(frozen=True)
class Coded:
    """A text column as dictionary codes: each question is answered once per distinct value."""

    values: list[str | None]
    codes: npt.NDArray[np.int64]

    @classmethod
    def of(cls, array: pa.Array) -> Coded:
        encoded = pc.dictionary_encode(array, null_encoding="encode")
        return cls(encoded.dictionary.to_pylist(), arrow_numpy.integers(encoded.indices))

    def per_row(self, answers: list[Any] | npt.NDArray[Any], dtype: type) -> npt.NDArray[Any]:
        result: npt.NDArray[Any] = np.array(answers, dtype=dtype)[self.codes]
        return result

    def value_at(self, row: int) -> str | None:
        return self.values[int(self.codes[row])]

    def count_into(self, counter: CategoryCounter) -> None:
        counts = np.bincount(self.codes, minlength=len(self.values))
        for value, times in zip(self.values, counts.tolist(), strict=True):
            if value is not None and times:
                counter.count(value, times)


class Tallies:
    """What the checks need from some rows of one file, accumulated batch by batch."""

    def __init__(self, columns: list[str], categorical: list[str]) -> None:
        self.columns = {name: ColumnTally() for name in columns}
        self.categorical = {name: CategoryCounter() for name in categorical}
        self.classes = CategoryCounter()
        self.rows = 0
        self.hashes: list[npt.NDArray[np.uint64]] = []

    def merge(self, later: Tallies) -> None:
        """Fold in the tallies of the rows that follow these."""
        for name, tally in self.columns.items():
            tally.merge(later.columns[name], self.rows)
        for name, counter in self.categorical.items():
            counter.merge(later.categorical[name])
        self.classes.merge(later.classes)
        self.hashes.extend(later.hashes)
        self.rows += later.rows


def tally_numbers(spec: Column, tally: ColumnTally, values: npt.NDArray[np.float64],
                  missing: npt.NDArray[np.bool_], start: int) -> None:
    """Values below min, above max or outside `allowed` in a numeric batch."""
    def value_at(row: int) -> float:
        return float(values[row])

    # fmin/fmax skip NaN: a batch within bounds (the usual case) needs no mask
    if spec.min is not None and values.size and np.fmin.reduce(values) < spec.min:
        tally.below.add(values < spec.min, start, value_at)
    if spec.max is not None and values.size and np.fmax.reduce(values) > spec.max:
        tally.above.add(values > spec.max, start, value_at)
    if spec.allowed is not None:
        allowed = np.array([float(v) for v in spec.allowed if not isinstance(v, str)])
        tally.outside.add(~np.isin(values, allowed) & ~missing, start, value_at)


def tally_text(spec: Column, tally: ColumnTally, coded: Coded, start: int) -> None:
    """Values outside `allowed` in a text batch."""
    if spec.allowed is not None:
        allowed = {str(v) for v in spec.allowed}
        outside = coded.per_row([v is not None and v not in allowed for v in coded.values], bool)
        tally.outside.add(outside, start, coded.value_at)
