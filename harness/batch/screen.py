"""Which columns of a batch could break a schema rule, told from two reductions per column.

The server checks a few rows per request, so `SchemaRules.check_columns` marks suspect values one
by one (about eight array operations over every numeric value). A batch holds millions of rows,
nearly all of them clean: a numeric column whose minimum and maximum are numbers within the rule's
bounds and the float32 range, with whole numbers where the rule wants an integer or a bool and no
list of allowed values, cannot hold a suspect. Only the other columns go to the full check, which
words every violation exactly as the server does; the screen never judges a value itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns
from mlops.core.contract import ColumnRule


def may_break(rules: Mapping[str, ColumnRule], columns: Columns) -> dict[str, npt.NDArray[Any]]:
    """The columns the full check must see: text columns and numeric ones not proven clean."""
    return {name: values for name, values in columns.items() if not _clean(rules[name], values)}


def _clean(rule: ColumnRule, values: npt.NDArray[Any]) -> bool:
    """Whether no value of a numeric column can break its rule (False when unsure)."""
    if rule.text or rule.allowed is not None or not len(values):
        return False
    lowest, highest = rule.finite_bounds
    if rule.dtype == "bool":
        lowest, highest = max(lowest, 0.0), min(highest, 1.0)
    smallest, largest = float(values.min()), float(values.max())  # a NaN makes both NaN
    if not lowest <= smallest <= largest <= highest:  # False for NaN
        return False
    return rule.dtype == "float" or bool(np.array_equal(values, np.trunc(values)))
