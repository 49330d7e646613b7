"""A data split as one table: a pandas DataFrame for a team's own checks (`train_data`,
`current_data`...), an Arrow table for the model and bench gates.

Read with the data gate's reader, so every schema column arrives in its spec type and a bad file
gets the same located sentence the data gate would give, instead of a pandas traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from .datasets import ARROW_TYPES
from .fileset import FileSet

if TYPE_CHECKING:
    import pandas as pd


def read_frame(loaded: LoadedSpec, relative: str) -> pd.DataFrame:
    """The schema's columns of the split at `relative` (spec-relative), in schema order."""
    return read_split(loaded, relative).to_pandas()


def read_split(loaded: LoadedSpec, relative: str) -> pa.Table:
    """The schema's columns of the split at `relative`, typed as the spec says, as one table."""
    data = loaded.spec.data
    dtypes = {name: column.dtype for name, column in data.columns.items()}
    dataset = FileSet.open(relative, loaded.root, data.format, dtypes)
    missing = [name for name in dtypes if name not in dataset.header]
    if missing:
        raise MlopsError(f"{relative}: missing column(s) {', '.join(missing)} of data.schema")
    batches = [batch.data for batch in dataset.batches()]
    if dataset.problems:
        raise MlopsError("; ".join(p.describe(relative, dataset.locate)
                                   for p in dataset.problems.values()))
    if dataset.malformed.count:
        raise MlopsError(f"{relative}: {dataset.malformed.count} row(s) with the wrong number of "
                         f"fields, the first: {dataset.malformed.first_text!r}")
    empty = pa.schema([(name, ARROW_TYPES[dtype]) for name, dtype in dtypes.items()]).empty_table()
    table = pa.Table.from_batches(batches) if batches else empty
    return table.select(list(dtypes))
