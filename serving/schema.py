"""data.schema enforced on every request: each value's type, nulls, allowed values and range.

Requests arrive as raw columns (see `mlops.core.columns`): numbers as float64 with NaN for a null,
text as str/None. A value of the wrong type can never be fed to the model and is always rejected;
the other rules (null in a non-nullable column, a value outside `allowed`, below `min` or above
`max`) are checked per column with numpy, and `serving.on_schema_violation` decides: `reject`
answers 422 naming the first offending row, feature and rule; `log` answers and only counts them.
Either way every violation is counted by feature and rule (mlops_schema_violations_total), so
drift in the wild shows before the monitor runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns
from mlops.core.contract import ColumnRule

from .errors import ClientError

Rule = Literal["dtype", "nullable", "allowed", "min", "max"]
FLOAT32_MAX = float(np.finfo(np.float32).max)


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


def check_cell(rule: ColumnRule, value: Any) -> bool:
    """Whether a JSON value has the column's type (null is a type question for `nullable`)."""
    if value is None:
        return True
    kind = type(value)
    if rule.text:
        return kind is str
    if rule.dtype == "bool":
        return kind is bool or (kind is int and value in (0, 1))
    if kind is bool or kind not in (int, float):
        return False
    return rule.dtype != "int" or math.isnan(value) or float(value).is_integer()


def placeholders_to_null(rule: ColumnRule, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """In a nullable text column, the column's `null_value` is how a client that cannot send null
    (a v2 BYTES tensor) says "missing": it is the same value to the model either way."""
    if rule.nullable:
        values[values == rule.null_value] = None
    return values


class SchemaRules:
    """The rules of the model's input columns, arranged for vectorised checks."""

    def __init__(self, rules: Sequence[ColumnRule], allow_non_finite: bool) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self.allow_non_finite = allow_non_finite

    def violations(self, columns: Columns) -> list[Violation]:
        """Every rule broken by these raw columns, ordered by row, then column order."""
        found: list[Violation] = []
        for name, values in columns.items():
            rule = self.rules[name]
            found += _text(rule, values) if rule.text else _numbers(rule, values,
                                                                    self.allow_non_finite)
        return sorted(found, key=lambda v: (v.row, list(self.rules).index(v.feature)))

    def check_types(self, columns: Columns, where: str) -> None:
        """Integer and bool columns of typed tensors: 2.5 or 7 cannot be fed as an int or a bool."""
        for name, values in columns.items():
            rule = self.rules[name]
            if rule.dtype not in ("int", "bool"):
                continue
            with np.errstate(invalid="ignore"):
                wrong = (np.mod(values, 1) != 0) if rule.dtype == "int" else ~np.isin(values,
                                                                                      (0.0, 1.0))
            bad = np.flatnonzero(wrong & ~np.isnan(values))
            if len(bad):
                raise type_error(where, int(bad[0]), rule, float(values[bad[0]]))

    def check_finite(self, columns: Columns, where: str) -> None:
        """Infinity (or a float beyond FP32) is never a value a client meant; 400 unless allowed."""
        if self.allow_non_finite:
            return
        for name, values in columns.items():
            if self.rules[name].text:
                continue
            bad = np.flatnonzero(np.isinf(values) | (np.abs(np.nan_to_num(values)) > FLOAT32_MAX))
            if len(bad):
                value = float(values[bad[0]])
                shown = (f"{value!r}, which overflows FP32" if math.isfinite(value)
                         else str(value))
                raise ClientError(400, "non_finite", f"{where.format(row=int(bad[0]))}feature "
                                  f"'{name}' is {shown}; infinite values are rejected (set "
                                  "serving.allow_non_finite to accept them)")


def _numbers(rule: ColumnRule, values: npt.NDArray[np.float64],
             allow_non_finite: bool) -> list[Violation]:
    found: list[Violation] = []
    missing = np.isnan(values)
    if not rule.nullable and not allow_non_finite and missing.any():
        found += [Violation(int(row), rule.name, "nullable", f"feature '{rule.name}' is missing "
                            f"(null or NaN), but data.schema.{rule.name} is not nullable")
                  for row in np.flatnonzero(missing)]
    if rule.allowed is not None:
        allowed = np.array([float(v) for v in rule.allowed if not isinstance(v, str)])
        outside = ~missing & ~np.isin(values, allowed)
        found += [Violation(int(row), rule.name, "allowed", f"feature '{rule.name}' is "
                            f"{_number(values[row])}, not one of the allowed values "
                            f"{_listed(rule.allowed)}")
                  for row in np.flatnonzero(outside)]
    with np.errstate(invalid="ignore"):
        for bound, mask, word in ((rule.min, values < (rule.min or 0.0), "below the minimum"),
                                  (rule.max, values > (rule.max or 0.0), "above the maximum")):
            if bound is None:
                continue
            which: Rule = "min" if word.startswith("below") else "max"
            found += [Violation(int(row), rule.name, which, f"feature '{rule.name}' is "
                                f"{_number(values[row])}, {word} {_number(bound)} "
                                f"(data.schema.{rule.name}.{which})")
                      for row in np.flatnonzero(mask)]
    return found


def _text(rule: ColumnRule, values: npt.NDArray[Any]) -> list[Violation]:
    found: list[Violation] = []
    allowed = None if rule.allowed is None else {str(v) for v in rule.allowed}
    for row, value in enumerate(values.tolist()):
        if value is None:
            if not rule.nullable:
                found.append(Violation(row, rule.name, "nullable", f"feature '{rule.name}' is "
                                       f"null, but data.schema.{rule.name} is not nullable"))
        elif allowed is not None and value not in allowed:
            found.append(Violation(row, rule.name, "allowed", f"feature '{rule.name}' is "
                                   f"{value!r}, not one of the allowed values "
                                   f"{_listed(rule.allowed or ())}"))
    return found


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _listed(values: Sequence[str | int | float | bool]) -> str:
    shown = [repr(v) if isinstance(v, str) else _number(float(v)) for v in values[:10]]
    return ", ".join(shown) + (f" (and {len(values) - 10} more)" if len(values) > 10 else "")
