"""data.schema enforced on every request: each value's type, nulls, allowed values and range.

Requests arrive as raw columns (see `mlops.core.columns`): numbers as float64 with NaN for a null,
text as str/None. A value of the wrong type can never be fed to the model and is always rejected;
the other rules (null in a non-nullable column, a value outside `allowed`, below `min` or above
`max`) are collected, and `serving.on_schema_violation` decides: `reject` answers 422 naming the
first offending row, feature and rule; `log` answers and only counts them.
Either way every violation is counted by feature and rule (mlops_schema_violations_total), so
drift in the wild shows before the monitor runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns, Matrix, stacked, text_array
from mlops.core.contract import FLOAT32_MAX, ColumnRule

from .errors import ClientError

Rule = Literal["dtype", "nullable", "allowed", "min", "max"]


@dataclass(frozen=True)
class Violation:
    """One value breaking one rule of data.schema."""

    row: int
    feature: str
    rule: Rule
    message: str


def schema_error(where: str, violation: Violation) -> ClientError:
    return ClientError(422, "schema", f"{where.format(row=violation.row)}{violation.message}")


def type_error(where: str, row: int, rule: ColumnRule, value: Any) -> ClientError:
    """A value that cannot be fed at all (a string in a float column, 2.5 in an int column)."""
    return schema_error(where, Violation(row, rule.name, "dtype", _wrong_type(rule, value)))


def _wrong_type(rule: ColumnRule, value: Any) -> str:
    expected = {"float": "a number", "int": "an integer", "bool": "true or false",
                "str": "a string", "category": "a string"}[rule.dtype]
    return f"feature '{rule.name}' must be {expected} (dtype {rule.dtype}), got {describe(value)}"


def describe(value: Any) -> str:
    """A value as a client reads it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    return "a list" if isinstance(value, list) else "an object"


def placeholders_to_null(rule: ColumnRule, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """In a nullable text column, the column's `null_value` is how a client that cannot send null
    (a v2 BYTES tensor) says "missing": it is the same value to the model either way."""
    if rule.nullable:
        values[values == rule.null_value] = None
    return values


class SchemaRules:
    """data.schema's rules of the model's input columns, checked on every request.

    One judge (`_broken`) words every violation. JSON rows are checked cell by cell while they
    are read (a request of a few rows costs microseconds that way); typed v2 tensors are checked
    with a few numpy operations over all numeric columns at once, and only the values those flag
    are looked at one by one.
    """

    def __init__(self, rules: Sequence[ColumnRule], allow_non_finite: bool) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self.allow_non_finite = allow_non_finite
        self._position = {name: index for index, name in enumerate(self.rules)}
        numeric = [rule for rule in rules if not rule.text]
        self.numeric = tuple(rule.name for rule in numeric)
        names = list(self.rules)
        self._plan = [(names.index(rule.name), rule,
                       *rule.finite_bounds,
                       rule.allowed is None and rule.dtype == "float",
                       rule.allowed is None and rule.dtype in ("float", "int"))
                      for rule in numeric]
        """Per numeric column: where it sits in a row, its rule, its finite bounds, and whether
        a float / an int within them needs no other look."""
        self._numeric_index = [entry[0] for entry in self._plan]
        self._all_numeric = len(numeric) == len(names)
        self._text = tuple(rule.name for rule in rules if rule.text)
        self._filters: dict[tuple[str, ...], _Filter] = {}
        """Per set of numeric columns a request carries (nearly always all of them): the
        pre-filter's bounds and row indices, built once."""
        self._allowed = {rule.name: {str(v) for v in rule.allowed} if rule.text
                         else {float(v) for v in rule.allowed}
                         for rule in rules if rule.allowed is not None}

    # --- JSON rows: cell by cell --------------------------------------------------------------

    def read_rows(self, table: Sequence[Sequence[Any]],
                  where: str) -> tuple[Columns, list[Violation]]:
        """Rows of JSON values in feature order -> (raw columns, violations); a value of the wrong
        type or an infinity raises at once. A plain number inside its bounds costs one type test
        and one chained comparison; anything else goes to the judge."""
        found: list[Violation] = []
        for row, cells in enumerate(table):
            for index, rule, low, high, floats, ints in self._plan:
                value = cells[index]
                kind = type(value)
                if ((kind is float and floats) or (kind is int and ints)) and low <= value <= high:
                    continue
                if value is None and (rule.nullable or self.allow_non_finite):
                    continue
                if not check_cell(rule, value):
                    raise type_error(where, row, rule, value)
                if value is not None:
                    self._finite(rule, float(value), row, where)
                if (broken := self._broken(rule, None if value is None else float(value))):
                    found.append(Violation(row, rule.name, *broken))
        if self._all_numeric:
            return Matrix(np.array(table, dtype=np.float64), self.numeric), self._sorted(found)
        columns: dict[str, npt.NDArray[Any]] = {}
        if self.numeric:
            block = np.array([[cells[i] for i in self._numeric_index] for cells in table],
                             dtype=np.float64)
            columns = {name: block[:, j] for j, name in enumerate(self.numeric)}
        for index, rule in enumerate(self.rules.values()):
            if rule.text:
                cells = [row[index] for row in table]
                for row, value in enumerate(cells):
                    if not check_cell(rule, value):
                        raise type_error(where, row, rule, value)
                values = columns[rule.name] = placeholders_to_null(rule, text_array(cells))
                found += [Violation(row, rule.name, *broken)
                          for row, text in enumerate(values.tolist())
                          if (broken := self._broken(rule, text)) is not None]
        ordered = {name: columns[name] for name in self.rules}
        return ordered, self._sorted(found)

    # --- typed tensors: vectorised ----------------------------------------------------------

    def check_columns(self, columns: Columns, where: str) -> list[Violation]:
        """Violations in raw columns from typed tensors; a wrong type or an infinity raises."""
        found: list[Violation] = []
        every = len(columns) == len(self.rules)  # as in every parsed request
        numeric = self.numeric if every else tuple(n for n in self.numeric if n in columns)
        if numeric:
            block = stacked(columns, numeric)
            plan = self._filters.get(numeric)
            if plan is None:
                plan = self._filters[numeric] = _Filter([self.rules[n] for n in numeric],
                                                        self.allow_non_finite)
            for position, row in plan.suspects(block):
                rule = self.rules[numeric[position]]
                number = float(block[position, row])
                if not math.isnan(number) and not check_cell(rule, number):
                    raise type_error(where, int(row), rule, number)
                self._finite(rule, number, int(row), where)
                if (broken := self._broken(rule, number)) is not None:
                    found.append(Violation(int(row), rule.name, *broken))
        for name in self._text if every else (n for n in self._text if n in columns):
            rule, values = self.rules[name], columns[name]
            if not self._text_passes(rule, values):
                found += [Violation(row, name, *broken) for row, text in enumerate(values.tolist())
                          if (broken := self._broken(rule, text)) is not None]
        return self._sorted(found)

    def _sorted(self, found: list[Violation]) -> list[Violation]:
        """By row, then in feature order: the first one is the one a client is told about."""
        return sorted(found, key=lambda v: (v.row, self._position[v.feature]))

    def _text_passes(self, rule: ColumnRule, values: npt.NDArray[Any]) -> bool:
        """Whether no value of a text column can break a rule, from its distinct values alone."""
        distinct = set(values.tolist())
        if None in distinct:
            if not rule.nullable:
                return False
            distinct.discard(None)
        allowed = self._allowed.get(rule.name)
        return (allowed is None or distinct <= allowed) and rule.min is None and rule.max is None

    # --- one value --------------------------------------------------------------------------

    def _broken(self, rule: ColumnRule, value: Any) -> tuple[Rule, str] | None:
        """The rule a raw value (float with NaN for null, or str/None) breaks, and the sentence."""
        name = rule.name
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if rule.nullable or (self.allow_non_finite and not rule.text):
                return None
            return "nullable", (f"feature '{name}' is missing (null or NaN), but "
                                f"data.schema.{name} is not nullable")
        allowed = self._allowed.get(name)
        if allowed is not None and value not in allowed:
            shown = repr(value) if rule.text else _number(value)
            return "allowed", (f"feature '{name}' is {shown}, not one of the allowed values "
                               f"{_listed(rule.allowed or ())}")
        if rule.min is not None and value < rule.min:
            return "min", (f"feature '{name}' is {_number(value)}, below the minimum "
                           f"{_number(rule.min)} (data.schema.{name}.min)")
        if rule.max is not None and value > rule.max:
            return "max", (f"feature '{name}' is {_number(value)}, above the maximum "
                           f"{_number(rule.max)} (data.schema.{name}.max)")
        return None

    def _finite(self, rule: ColumnRule, number: float, row: int, where: str) -> None:
        """Infinity (or a float beyond FP32) is never a value a client meant; 400 unless allowed."""
        if self.allow_non_finite or math.isnan(number) or abs(number) <= FLOAT32_MAX:
            return
        shown = f"{number!r}, which overflows FP32" if math.isfinite(number) else str(number)
        raise ClientError(400, "non_finite", f"{where.format(row=row)}feature '{rule.name}' is "
                          f"{shown}; infinite values are rejected (set serving.allow_non_finite "
                          "to accept them)")


class _Filter:
    """The values of a numeric block (one row per column) that may break a rule: only these are
    looked at one by one, so a clean request costs a few numpy operations over the whole block,
    whatever its number of columns. Bounds are clipped to FP32's range, so one pair of
    comparisons also flags infinities and floats FP32 cannot hold."""

    def __init__(self, rules: Sequence[ColumnRule], allow_non_finite: bool) -> None:
        self.low = np.array([r.finite_bounds[0] for r in rules])[:, None]
        self.high = np.array([r.finite_bounds[1] for r in rules])[:, None]
        self.not_null = np.array([not (r.nullable or allow_non_finite) for r in rules])[:, None]
        self.integers = np.array([i for i, r in enumerate(rules) if r.dtype == "int"], dtype=int)
        self.bools = np.array([i for i, r in enumerate(rules) if r.dtype == "bool"], dtype=int)
        self.allowed = [(i, np.array(sorted(float(v) for v in r.allowed)))
                        for i, r in enumerate(rules) if r.allowed is not None]

    def suspects(self, block: npt.NDArray[np.float64]) -> Iterable[tuple[int, int]]:
        """(column's position in the block, row) of each value that may break a rule; none, after a
        few whole-block comparisons, for the usual request (each numpy call on a small block costs
        microseconds under load)."""
        if ((block >= self.low) & (block <= self.high)).all() and self._exact(block):
            return ()  # NaN fails both comparisons, so a null always takes the path below
        nan = np.isnan(block)
        suspect: npt.NDArray[np.bool_] = nan & self.not_null
        suspect |= block < self.low
        suspect |= block > self.high
        if self.integers.size:
            ints = block[self.integers]
            suspect[self.integers] |= (ints != np.trunc(ints)) & ~nan[self.integers]
        if self.bools.size:
            flags = block[self.bools]
            suspect[self.bools] |= (flags != 0) & (flags != 1) & ~nan[self.bools]
        for index, allowed in self.allowed:
            suspect[index] |= ~nan[index] & ~np.isin(block[index], allowed)
        return zip(*np.nonzero(suspect), strict=True)

    def _exact(self, block: npt.NDArray[np.float64]) -> bool:
        """Whether a block without NaN holds whole numbers in its integer rows, 0/1 in its boolean
        rows and allowed values only."""
        if self.integers.size:
            ints = block[self.integers]
            if not (ints == np.trunc(ints)).all():
                return False
        if self.bools.size:
            flags = block[self.bools]
            if not ((flags == 0) | (flags == 1)).all():
                return False
        return all(np.isin(block[index], allowed).all() for index, allowed in self.allowed)


def check_cell(rule: ColumnRule, value: Any) -> bool:
    """Whether a value has the column's type (null is a question for `nullable`, not the type)."""
    if value is None:
        return True
    kind = type(value)
    if rule.text:
        return kind is str
    if rule.dtype == "bool":
        return kind is bool or (kind in (int, float) and value in (0, 1))
    if kind is bool or kind not in (int, float):
        return False
    return rule.dtype != "int" or not math.isfinite(value) or float(value).is_integer()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _listed(values: Sequence[str | int | float | bool]) -> str:
    shown = [repr(v) if isinstance(v, str) else _number(float(v)) for v in values[:10]]
    return ", ".join(shown) + (f" (and {len(values) - 10} more)" if len(values) > 10 else "")
