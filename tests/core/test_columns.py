"""Raw columns: rows in, typed arrays with nulls kept, and back."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mlops.core.columns import concat, from_arrow, from_records, length, null_mask, take, to_records
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
