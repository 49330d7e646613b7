"""Schema + quality of one CSV or Parquet file with pandera (pandas backend)."""

from __future__ import annotations

import json
import sys
import time

import pandera.pandas as pa
from frames import read
from rules import FEATURES, HIGH, LOW, MAX_DUPLICATE_FRACTION, MIN_CLASS_FRACTION, MIN_ROWS, TARGET

started = time.perf_counter()
frame = read(sys.argv[1])
columns = {name: pa.Column(float, pa.Check.in_range(LOW, HIGH), nullable=False)
           for name in FEATURES}
columns[TARGET] = pa.Column(int, pa.Check.isin([0, 1]), nullable=False)
schema = pa.DataFrameSchema(columns, strict=True, checks=[
    pa.Check(lambda df: len(df) >= MIN_ROWS, name="min_rows"),
    pa.Check(lambda df: df.duplicated().mean() <= MAX_DUPLICATE_FRACTION, name="duplicates"),
    pa.Check(lambda df: df[TARGET].value_counts(normalize=True).min() >= MIN_CLASS_FRACTION,
             name="class_balance"),
])
try:
    schema.validate(frame, lazy=True)
    ok = True
except pa.errors.SchemaErrors:
    ok = False
print(json.dumps({"seconds": time.perf_counter() - started, "ok": ok}))
