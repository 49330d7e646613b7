"""data.schema on typed v2 columns: the vectorised pre-filter finds every value the judge would."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlops.core.columns import text_array
from mlops.core.contract import ColumnRule
from mlops.serving.errors import ClientError
from mlops.serving.schema import SchemaRules, Violation

NAN = math.nan
RULES = (
    ColumnRule("amount", "float", min=0, max=100),
    ColumnRule("count", "int", min=0),
    ColumnRule("flag", "bool", nullable=True),
    ColumnRule("level", "int", allowed=(1, 2, 3)),
    ColumnRule("plan", "category", allowed=("basic", "premium")),
    ColumnRule("note", "str", nullable=True),
)


def columns(**changed: list[object]) -> dict[str, np.ndarray]:
    """Four clean rows, with some columns replaced."""
    clean: dict[str, list[object]] = {
        "amount": [5.0, 0.0, 100.0, 42.5], "count": [0, 1, 7, 1e6], "flag": [0, 1, NAN, 1],
        "level": [1, 2, 3, 1], "plan": ["basic", "premium", "basic", "basic"],
        "note": ["a", None, "b", "c"]}
    values = clean | changed
    return {name: text_array(cells) if name in ("plan", "note")
            else np.array(cells, dtype=np.float64) for name, cells in values.items()}


def test_a_clean_batch_has_no_violations() -> None:
    assert SchemaRules(RULES, allow_non_finite=False).check_columns(columns(), "row {row}, ") == []


def test_every_broken_value_is_found_in_row_then_feature_order() -> None:
    found = SchemaRules(RULES, allow_non_finite=False).check_columns(columns(
        amount=[-1.0, 101.0, NAN, 5.0], level=[1, 4, 2, 3], plan=["basic", "gold", None, "premium"],
    ), "row {row}, ")
    assert [(v.row, v.feature, v.rule, v.message) for v in found] == [
        (0, "amount", "min", "feature 'amount' is -1, below the minimum 0 (data.schema.amount.min)"),
        (1, "amount", "max", "feature 'amount' is 101, above the maximum 100 "
                             "(data.schema.amount.max)"),
        (1, "level", "allowed", "feature 'level' is 4, not one of the allowed values 1, 2, 3"),
        (1, "plan", "allowed", "feature 'plan' is 'gold', not one of the allowed values 'basic', "
                               "'premium'"),
        (2, "amount", "nullable", "feature 'amount' is missing (null or NaN), but "
                                  "data.schema.amount is not nullable"),
        (2, "plan", "nullable", "feature 'plan' is missing (null or NaN), but data.schema.plan is "
                                "not nullable"),
    ]


def test_a_null_in_a_bool_column_is_a_question_of_nullable_not_of_type() -> None:
    rules = SchemaRules((ColumnRule("flag", "bool"),), allow_non_finite=False)
    (found,) = rules.check_columns({"flag": np.array([1.0, NAN])}, "row {row}, ")
    assert (found.row, found.rule) == (1, "nullable")


@pytest.mark.parametrize(("changed", "message"), [
    ({"count": [0, 2.5, 1, 1]}, "row 1, feature 'count' must be an integer (dtype int), got the "
                                "number 2.5"),
    ({"flag": [0, 1, 2, 1]}, "row 2, feature 'flag' must be true or false (dtype bool), got the "
                             "number 2.0"),
    ({"amount": [5.0, math.inf, 1.0, 1.0]}, "row 1, feature 'amount' is inf; infinite values are "
                                            "rejected (set serving.allow_non_finite to accept "
                                            "them)"),
])
def test_a_value_the_model_cannot_take_is_refused_at_once(changed: dict[str, list[object]],
                                                          message: str) -> None:
    with pytest.raises(ClientError) as raised:
        SchemaRules(RULES, allow_non_finite=False).check_columns(columns(**changed), "row {row}, ")
    assert raised.value.message == message


@pytest.mark.parametrize("nulls", [True, False])
def test_the_prefilter_flags_every_value_the_cell_by_cell_judge_would(nulls: bool) -> None:
    """Random rows (bounds, allowed values, integers and bools, in and out of their rules; with
    and without nulls) through the vectorised check and through the JSON path's judge: the same
    violations for the whole table and for each row alone, so clean requests (the one-pass path)
    and broken ones (value by value) are both compared."""
    numeric = [rule for rule in RULES if not rule.text]
    rules = SchemaRules(numeric, allow_non_finite=False)
    pool: dict[str, list[object]] = {"amount": [-1.0, 0.0, 100.0, 100.5, 42.5],
                                     "count": [-2, 0, 3, 10**6], "flag": [0, 1],
                                     "level": [0, 1, 3, 4]}
    if nulls:
        pool = {name: [None, *values] for name, values in pool.items()}
    random = np.random.default_rng(7)
    table = [[pool[rule.name][random.integers(len(pool[rule.name]))] for rule in numeric]
             for _ in range(200)]

    def both(rows: list[list[object]]) -> tuple[list[Violation], list[Violation]]:
        _, judged = rules.read_rows(rows, "row {row}, ")
        columns = {rule.name: np.array([np.nan if row[i] is None else row[i] for row in rows],
                                       dtype=np.float64) for i, rule in enumerate(numeric)}
        return rules.check_columns(columns, "row {row}, "), judged

    found, judged = both(table)
    assert judged
    assert found == judged
    alone = [both([row]) for row in table]
    assert sum(not judged for _, judged in alone) >= 20  # enough clean rows to take the fast path
    assert all(found == judged for found, judged in alone)


@pytest.mark.parametrize(("changed", "message"), [
    ({"count": [0, 2.5]}, "row 1, feature 'count' must be an integer (dtype int), got the number "
                          "2.5"),
    ({"flag": [2, 1]}, "row 0, feature 'flag' must be true or false (dtype bool), got the number "
                       "2.0"),
])
def test_a_request_without_nulls_is_held_to_every_rule_too(changed: dict[str, list[object]],
                                                           message: str) -> None:
    """Within bounds, no NaN: only the integer and boolean checks can catch these."""
    rules = SchemaRules([rule for rule in RULES if not rule.text], allow_non_finite=False)
    clean = {"amount": [5.0, 6.0], "count": [0, 1], "flag": [0, 1], "level": [1, 3]}
    values = {name: np.array(cells, dtype=np.float64) for name, cells in (clean | changed).items()}
    assert rules.check_columns({name: np.array(cells, dtype=np.float64)
                                for name, cells in clean.items()}, "row {row}, ") == []
    with pytest.raises(ClientError) as raised:
        rules.check_columns(values, "row {row}, ")
    assert raised.value.message == message


def test_a_request_without_nulls_is_held_to_its_allowed_values() -> None:
    rules = SchemaRules([rule for rule in RULES if not rule.text], allow_non_finite=False)
    values = {"amount": [5.0, 6.0], "count": [0, 1], "flag": [0, 1], "level": [1, 4]}
    (found,) = rules.check_columns({name: np.array(cells, dtype=np.float64)
                                    for name, cells in values.items()}, "row {row}, ")
    assert (found.row, found.feature, found.rule) == (1, "level", "allowed")


def test_each_set_of_columns_a_request_carries_is_checked_against_its_own_rules() -> None:
    rules = SchemaRules(RULES, allow_non_finite=False)
    only_level = {"level": np.array([1.0, 5.0])}
    only_amount = {"amount": np.array([5.0, 500.0])}
    assert [(v.row, v.feature, v.rule) for v in rules.check_columns(only_level, "")] == [
        (1, "level", "allowed")]
    assert [(v.row, v.feature, v.rule) for v in rules.check_columns(only_amount, "")] == [
        (1, "amount", "max")]
    assert [(v.row, v.feature) for v in rules.check_columns(only_level, "")] == [(1, "level")]


@pytest.mark.parametrize(("amount", "message"), [
    (3.5e38, "row 2, feature 'amount' is 3.5e+38, which overflows FP32; infinite values are "
             "rejected (set serving.allow_non_finite to accept them)"),
    (-math.inf, "row 2, feature 'amount' is -inf; infinite values are rejected (set "
                "serving.allow_non_finite to accept them)"),
])
def test_values_beyond_fp32_are_refused_even_without_bounds(amount: float, message: str) -> None:
    rules = SchemaRules((ColumnRule("amount", "float"),), allow_non_finite=False)
    with pytest.raises(ClientError) as raised:
        rules.check_columns({"amount": np.array([1.0, 2.0, amount])}, "row {row}, ")
    assert raised.value.message == message
    lenient = SchemaRules((ColumnRule("amount", "float"),), allow_non_finite=True)
    assert lenient.check_columns({"amount": np.array([1.0, amount])}, "row {row}, ") == []
