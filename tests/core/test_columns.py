"""Raw columns: rows in, typed arrays with nulls kept, and back."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mlops.core.columns import (
    Matrix,
    concat,
    from_arrow,
    from_records,
    length,
    null_mask,
    stacked,
    take,
    to_records,
)
from mlops.core.contract import ColumnRule

RULES = [ColumnRule("plan", "str", nullable=True), ColumnRule("age", "float", nullable=True),
         ColumnRule("vip", "bool")]


def test_records_to_columns_and_back() -> None:
    records = [{"plan": "basic", "age": 31, "vip": True}, {"plan": None, "age": None, "vip": False}]
    columns = from_records(records, RULES)
    assert columns["plan"].tolist() == ["basic", None]
    assert columns["age"][0] == 31.0 and np.isnan(columns["age"][1])
    assert columns["vip"].tolist() == [1.0, 0.0]
    assert null_mask(columns["plan"]).tolist() == [False, True]
    assert to_records({"plan": columns["plan"], "age": columns["age"]}) == [
        {"plan": "basic", "age": 31.0}, {"plan": None, "age": None}]


def test_arrow_tables_keep_nulls_and_text() -> None:
    table = pa.table({"plan": ["a", None], "age": pa.array([1, None], pa.int64()),
                      "vip": [True, None], "other": [1, 2]})
    columns = from_arrow(table, RULES)
    assert list(columns) == ["plan", "age", "vip"]
    assert columns["plan"].tolist() == ["a", None]
    assert np.isnan(columns["age"][1]) and np.isnan(columns["vip"][1])


def test_take_concat_length() -> None:
    columns = from_records([{"plan": "a", "age": 1, "vip": 0}, {"plan": "b", "age": 2, "vip": 1}],
                           RULES)
    both = concat([columns, take(columns, np.array([False, True]))])
    assert length(both) == 3 and both["plan"].tolist() == ["a", "b", "b"]
    assert length({}) == 0


def test_a_matrix_is_its_columns_and_is_stacked_without_a_copy() -> None:
    block = np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    matrix = Matrix(block, ("a", "b", "c"))
    assert list(matrix) == ["a", "b", "c"] and len(matrix) == 3 and length(matrix) == 2
    assert matrix["b"].tolist() == [2.0, 5.0] and np.isnan(matrix["c"][0])
    assert to_records(take(matrix, np.array([False, True]))) == [{"a": 4.0, "b": 5.0, "c": 6.0}]
    whole = stacked(matrix, ("a", "b", "c"))
    assert whole.shape == (3, 2) and np.shares_memory(whole, block)
    some = stacked(matrix, ("c", "a"))
    assert not np.shares_memory(some, block)
    np.testing.assert_array_equal(some, [[np.nan, 6.0], [1.0, 4.0]])
    np.testing.assert_array_equal(stacked(dict(matrix), ("a", "b", "c")), whole)


def test_matrices_concatenate_to_one_matrix_and_mixed_parts_to_columns() -> None:
    first = Matrix(np.array([[1.0, 2.0]]), ("a", "b"))
    second = Matrix(np.array([[3.0, 4.0], [5.0, 6.0]]), ("a", "b"))
    joined = concat([first, second])
    assert isinstance(joined, Matrix) and joined.block.tolist() == [[1, 2], [3, 4], [5, 6]]
    mixed = concat([first, {"a": np.array([7.0]), "b": np.array([8.0])}])
    assert not isinstance(mixed, Matrix) and mixed["b"].tolist() == [2.0, 8.0]
    assert concat([first]) is first
