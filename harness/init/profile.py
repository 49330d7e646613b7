"""What `mlops init` learns about one column of one file, batch by batch, without its dtype.

A CSV column arrives as text (the data gate's reader with every column read as `str`), and each
batch tells what the values are: `bool` (true/false), `int`, `float` or `str`, on a lattice where
a column takes the narrowest kind that holds every value (int and float join to float; bool and
a number, or anything and text, join to str). The kind is decided from the values themselves:
a float cast of the batch (one pass), an integrality test only for columns still integral, and
the data gate's own number syntax for the rare batch pyarrow's cast refuses, so a column inferred
`int` is read by the data gate as `int` without a problem. Parquet columns carry their type.

Alongside the kind a profile keeps what the spec needs: nulls (count and first row), the finite
range (exact for integers), the distinct values while there are at most `MAX_ALLOWED` of them
(raw text for CSV, so a text column's allowed values are what the data gate reads), and the first
value that made the column wider than a number or an integer (for located errors). Profiles of
consecutive rows merge in file order, so a file's parts are profiled apart, on every core, and the
result does not depend on how many there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..data import arrow_numpy
from ..data.tallies import Offenders

Kind = Literal["null", "bool", "int", "float", "str", "other"]
"""`null`: no value seen yet; `other`: a Parquet type data.schema cannot describe."""
Number = int | float
MAX_ALLOWED = 20
"""The cardinality limit: a column with more distinct values keeps none (and gets no `allowed`)."""
BOOL_TEXT = ("true", "false")
FLOAT_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$|^\s*[-+]?(inf|infinity|nan)\s*$"
"""The data gate's number syntax (harness.data.datasets): what it accepts in a float column."""
_NOT_INTEGER_TEXT = (".", "e", "E")
_GLANCE = 1024
"""A number written with one of these is a float to the data gate, even when it is whole."""


def join(first: Kind, second: Kind) -> Kind:
    """The narrowest kind that holds the values of both."""
    if first == second or second == "null":
        return first
    if first == "null":
        return second
    if "other" in (first, second):
        return "other"
    if {first, second} == {"int", "float"}:
        return "float"
    return "str"


@dataclass
class First:
    """The first row (from 1, within the profiled rows) holding a value of some sort, and it."""

    row: int = 0
    value: str = ""

    def note(self, row: int, value: str) -> None:
        if not self.row:
            self.row, self.value = row, value

    def merge(self, later: First, offset: int) -> None:
        if later.row and not self.row:
            self.row, self.value = later.row + offset, later.value


@dataclass
class ColumnProfile:
    """One column of consecutive rows of a file."""

    kind: Kind = "null"
    nulls: Offenders = field(default_factory=Offenders)
    low: Number | None = None
    high: Number | None = None
    infinite_low: bool = False
    infinite_high: bool = False
    counts: dict[str, int] | None = field(default_factory=dict)
    """Rows per distinct value (text as written; numbers of a Parquet file as text), or None
    once there are more than MAX_ALLOWED."""
    not_integer: First = field(default_factory=First)
    """The first number that is not an integer (for a column that must be one)."""
    not_number: First = field(default_factory=First)
    """The first value that is not a number (or, in a true/false column, not a bool)."""

    def merge(self, later: ColumnProfile, offset: int) -> None:
        """Fold in the profile of the `later` rows, which start `offset` rows after these."""
        self.kind = join(self.kind, later.kind)
        self.nulls.merge(later.nulls, offset)
        self._bounds(later.low, later.high)
        self.infinite_low |= later.infinite_low
        self.infinite_high |= later.infinite_high
        if self.counts is not None and later.counts is not None:
            for value, times in later.counts.items():
                self.counts[value] = self.counts.get(value, 0) + times
            if len(self.counts) > MAX_ALLOWED:
                self.counts = None
        else:
            self.counts = None
        self.not_integer.merge(later.not_integer, offset)
        self.not_number.merge(later.not_number, offset)
        if self.kind not in ("int", "float", "null"):
            self._no_bounds()

    def _to_text(self) -> None:
        self.kind = "str"
        self._no_bounds()

    def _no_bounds(self) -> None:
        """A column that is not numeric has no range (whatever some of its rows held)."""
        self.low = self.high = None
        self.infinite_low = self.infinite_high = False

    def _bounds(self, low: Number | None, high: Number | None) -> None:
        if low is not None:
            self.low = low if self.low is None else min(self.low, low)
        if high is not None:
            self.high = high if self.high is None else max(self.high, high)

    # --- CSV: text cells ----------------------------------------------------------------------

    def observe_text(self, text: pa.Array, start: int) -> None:
        """Rows `start + 1 ...` of the column, as the CSV holds them (nulls already null)."""
        if self._observe_nulls(text, start):
            return
        if self.kind != "str":
            self._classify(text, start)
        if self.counts is not None:
            self._count(text)

    def _classify(self, text: pa.Array, start: int) -> None:
        first = _first_present(text)
        if self.kind in ("null", "bool") and first.strip().lower() in BOOL_TEXT:
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(text))
            valid = pc.or_kleene(pc.is_in(lowered, value_set=pa.array(BOOL_TEXT)), pc.is_null(text))
            if self._all_or_note(valid, text, start):
                self.kind = "bool"
            else:
                self._to_text()
            return
        if self.kind == "bool":  # a value that is not true/false after some that were
            self.not_number.note(start + 1, first)
            self._to_text()
            return
        numbers = self._numbers(text, start)
        if numbers is None:
            self._to_text()
            return
        floats = arrow_numpy.floats(numbers)
        if self.kind != "float" and _integral(text, floats):
            integers = _integers(text)
            if integers is not None:
                self.kind = join(self.kind, "int")
                bounds = pc.min_max(integers).as_py()
                self._bounds(bounds["min"], bounds["max"])
                return
        if not self.not_integer.row:
            index = _first_not_integer(text, floats)
            self.not_integer.note(start + index + 1, str(text[index].as_py()))
        self.kind = join(self.kind, "float")
        self._float_bounds(floats)

    def _numbers(self, text: pa.Array, start: int) -> pa.Array | None:
        """The batch as float64, or None (noting the first value that is not a number)."""
        try:
            return pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            pass
        syntax = pc.match_substring_regex(text, FLOAT_TEXT, ignore_case=True)
        if not self._all_or_note(syntax, text, start):
            return None
        try:
            return pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
        except pa.ArrowInvalid:
            return None

    def _all_or_note(self, valid: pa.Array, text: pa.Array, start: int) -> bool:
        """Whether every present value is valid; if not, the first invalid one is noted."""
        if pc.all(valid).as_py() is not False:
            return True
        index = int(pc.index(pc.fill_null(valid, True), False).as_py())
        self.not_number.note(start + index + 1, str(text[index].as_py()))
        return False

    def _float_bounds(self, floats: npt.NDArray[np.float64]) -> None:
        present = floats[~np.isnan(floats)]
        finite = present[np.isfinite(present)]
        self.infinite_low |= bool(np.any(present == -np.inf))
        self.infinite_high |= bool(np.any(present == np.inf))
        if finite.size:
            self._bounds(float(finite.min()), float(finite.max()))

    # --- Parquet: typed cells -----------------------------------------------------------------

    def observe_typed(self, values: pa.Array, kind: Kind, start: int) -> None:
        """Rows of a column whose type the file declares (`kind` is that type's)."""
        self.kind = join(self.kind, kind)
        if self._observe_nulls(values, start):
            return
        if kind == "int":
            bounds = pc.min_max(values).as_py()
            self._bounds(bounds["min"], bounds["max"])
        elif kind == "float":
            self._float_bounds(arrow_numpy.floats(values))
        if self.counts is not None:
            self._count(pc.utf8_lower(pc.cast(values, pa.string())) if kind != "str"
                        else values)

    # --- shared -------------------------------------------------------------------------------

    def _observe_nulls(self, values: pa.Array, start: int) -> bool:
        """Tally the nulls; True when the batch holds nothing else."""
        if values.null_count:
            self.nulls.add(arrow_numpy.booleans(pc.is_null(values)), start)
        return bool(values.null_count == len(values))

    def _count(self, text: pa.Array) -> None:
        assert self.counts is not None
        present = text.drop_null() if text.null_count else text
        # most columns have many values: a look at the first rows is enough to tell
        if len(present) > _GLANCE and len(pc.unique(present.slice(0, _GLANCE))) > MAX_ALLOWED:
            self.counts = None
            return
        found = pc.value_counts(present)
        if len(found) > MAX_ALLOWED:
            self.counts = None
            return
        for item in found.to_pylist():
            self.counts[item["values"]] = self.counts.get(item["values"], 0) + item["counts"]
        if len(self.counts) > MAX_ALLOWED:
            self.counts = None


def _first_index(values: pa.Array) -> int:
    return 0 if not values.null_count else int(pc.index(pc.is_valid(values), True).as_py())


def _first_present(text: pa.Array) -> str:
    return str(text[_first_index(text)].as_py())


def _integral(text: pa.Array, floats: npt.NDArray[np.float64]) -> bool:
    """Whole numbers written as integers (no '.', no exponent): what the data gate reads as int."""
    present = floats[~np.isnan(floats)]
    if not bool(np.all(present == np.floor(present))):
        return False
    return not any(pc.any(pc.match_substring(text, mark)).as_py() for mark in _NOT_INTEGER_TEXT)


def _first_not_integer(text: pa.Array, floats: npt.NDArray[np.float64]) -> int:
    """The first fractional value, else the first written as a float ('2.0'), else the first
    present one (a whole number beyond int64)."""
    fractional = (floats != np.floor(floats)) & ~np.isnan(floats)
    if fractional.any():
        return int(np.argmax(fractional))
    marked = np.zeros(len(floats), dtype=bool)
    for mark in _NOT_INTEGER_TEXT:
        marked |= arrow_numpy.booleans(pc.fill_null(pc.match_substring(text, mark), False))
    return int(np.argmax(marked)) if marked.any() else _first_index(text)


def _integers(text: pa.Array) -> pa.Array | None:
    """The batch as int64 (spaces around a value allowed, as the data gate allows them), or None
    for a value the data gate cannot read as an integer (beyond int64, or signed with '+')."""
    try:
        return pc.cast(text, pa.int64())
    except pa.ArrowInvalid:
        pass
    try:
        return pc.cast(pc.utf8_trim_whitespace(text), pa.int64())
    except pa.ArrowInvalid:
        return None
