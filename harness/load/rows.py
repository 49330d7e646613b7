"""The rows the load test posts, on local disk: the locustfile reads one local file, so a test split
that is a folder, a glob or in object storage is sampled into one first (its first rows, as the
locustfile itself keeps at most MAX_ROWS of a file).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from mlops.core.errors import MlopsError
from mlops.core.locations import GLOB, scheme
from mlops.harness.data.fileset import FileSet, located
from mlops.spec.loader import LoadedSpec

MAX_ROWS = 10_000
"""As many rows as the generated locustfile keeps (its MAX_ROWS)."""


def local_rows_file(loaded: LoadedSpec, folder: Path) -> Path | None:
    """None when data.test is one local file (the locustfile reads it itself); else the first
    MAX_ROWS rows of its features written to `folder`, in data.format."""
    data = loaded.spec.data
    location = data.test
    if scheme(location) is None and not GLOB.search(location) and loaded.resolve(location).is_file():
        return None
    dtypes = {name: data.columns[name].dtype for name in data.features}
    with located(loaded, location):
        dataset = FileSet.open(location, loaded.root, data.format, dtypes)
    batches: list[pa.RecordBatch] = []
    rows = 0
    for batch in dataset.batches(list(dtypes)):
        batches.append(batch.data.slice(0, MAX_ROWS - rows))
        rows += batches[-1].num_rows
        if rows >= MAX_ROWS:
            break
    if not rows:
        raise MlopsError(f"{location}: no rows for the load test to post")
    table = pa.Table.from_batches(batches)
    if data.format == "parquet":
        target = folder / "load-rows.parquet"
        pq.write_table(table, target)
    else:
        target = folder / "load-rows.csv"
        pcsv.write_csv(table, target)
    return target
