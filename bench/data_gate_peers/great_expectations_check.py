"""Schema + quality of one CSV or Parquet file with Great Expectations 1.x (pandas engine)."""

from __future__ import annotations

import json
import sys
import time

import great_expectations as gx
from frames import read
from rules import FEATURES, HIGH, LOW, MAX_DUPLICATE_FRACTION, MIN_ROWS, TARGET

started = time.perf_counter()
frame = read(sys.argv[1])
context = gx.get_context(mode="ephemeral")
batch = (context.data_sources.add_pandas("bench").add_dataframe_asset("frame")
         .add_batch_definition_whole_dataframe("all")
         .get_batch(batch_parameters={"dataframe": frame}))
expect = gx.expectations
suite = gx.ExpectationSuite(name="data-gate")
suite.add_expectation(expect.ExpectTableColumnsToMatchSet(column_set=[*FEATURES, TARGET]))
suite.add_expectation(expect.ExpectTableRowCountToBeBetween(min_value=MIN_ROWS))
for column in FEATURES:
    suite.add_expectation(expect.ExpectColumnValuesToBeInTypeList(column=column,
                                                                  type_list=["float64"]))
    suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(expect.ExpectColumnValuesToBeBetween(column=column, min_value=LOW,
                                                               max_value=HIGH))
suite.add_expectation(expect.ExpectColumnValuesToBeInTypeList(column=TARGET, type_list=["int64"]))
suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column=TARGET))
suite.add_expectation(expect.ExpectColumnValuesToBeInSet(column=TARGET, value_set=[0, 1]))
suite.add_expectation(expect.ExpectCompoundColumnsToBeUnique(
    column_list=[*FEATURES, TARGET], mostly=1 - MAX_DUPLICATE_FRACTION))
result = batch.validate(suite)
print(json.dumps({"seconds": time.perf_counter() - started, "ok": bool(result.success),
                  "expectations": len(result.results)}))
