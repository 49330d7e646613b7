"""The batch screen: it skips only columns that cannot break a rule, so the full check finds the
same violations, in the same order, as over every column."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlops.core.contract import FLOAT32_MAX, ColumnRule
from mlops.harness.batch.screen import may_break
from mlops.serving.errors import ClientError
from mlops.serving.schema import SchemaRules

RULES = (ColumnRule("ratio", "float", min=0.0, max=1.0), ColumnRule("free", "float"),
         ColumnRule("count", "int", min=0), ColumnRule("flag", "bool"),
         ColumnRule("size", "float", allowed=(1.0, 2.0)), ColumnRule("kind", "str"),
         ColumnRule("maybe", "float", nullable=True))
CLEAN: dict[str, list[object]] = {"ratio": [0.0, 0.5, 1.0], "free": [-1e30, 0.0, 1e30],
                                  "count": [0, 3, 7], "flag": [0, 1, 1], "size": [1, 2, 1],
                                  "kind": ["a", "b", "c"], "maybe": [0.1, 0.2, 0.3]}


def columns(**changed: list[object]) -> dict[str, np.ndarray]:
    values = {**CLEAN, **changed}
    return {name: np.array(cells, dtype=object if name == "kind" else np.float64)
            for name, cells in values.items()}


def test_clean_numeric_columns_are_skipped() -> None:
    rules = SchemaRules(RULES, allow_non_finite=False)
    # text and allowed-value columns always go to the full check
    assert sorted(may_break(rules.rules, columns())) == ["kind", "size"]


@pytest.mark.parametrize(("name", "cells"), [
    ("ratio", [0.0, 1.5, 0.5]), ("ratio", [0.0, -0.1, 0.5]), ("ratio", [0.0, math.nan, 0.5]),
    ("free", [0.0, 2 * FLOAT32_MAX, 0.0]), ("free", [0.0, -math.inf, 0.0]),
    ("count", [0, 2.5, 3]), ("count", [-1, 2, 3]), ("flag", [0, 2, 1]), ("flag", [0, 0.5, 1]),
    ("maybe", [0.1, math.nan, 0.3])])
def test_a_column_that_may_break_a_rule_is_checked(name: str, cells: list[object]) -> None:
    rules = SchemaRules(RULES, allow_non_finite=False)
    batch = columns(**{name: cells})
    assert name in may_break(rules.rules, batch)
    try:
        expected = rules.check_columns(batch, "")
    except ClientError as error:  # an infinity or a wrong type is refused the same way
        with pytest.raises(ClientError) as raised:
            rules.check_columns(may_break(rules.rules, batch), "")
        assert raised.value.message == error.message
        return
    assert rules.check_columns(may_break(rules.rules, batch), "") == expected


def test_the_same_violations_in_the_same_order() -> None:
    rules = SchemaRules(RULES, allow_non_finite=False)
    batch = columns(ratio=[0.0, 1.5, math.nan], count=[0, -4, 2], size=[1, 5, 2],
                    kind=["a", None, "c"])
    found = rules.check_columns(may_break(rules.rules, batch), "")
    assert found == rules.check_columns(batch, "")
    assert [(v.row, v.feature, v.rule) for v in found] == [
        (1, "ratio", "max"), (1, "count", "min"), (1, "size", "allowed"), (1, "kind", "nullable"),
        (2, "ratio", "nullable")]


def test_a_null_in_a_nullable_column_or_under_allow_non_finite_is_no_violation() -> None:
    batch = columns(maybe=[math.nan, 0.2, 0.3], free=[math.inf, 0.0, 0.0])
    rules = SchemaRules(RULES, allow_non_finite=True)
    assert rules.check_columns(may_break(rules.rules, batch), "") == []
