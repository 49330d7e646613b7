"""A data split read with the data gate's reader: batch by batch for the model gate, or as one
table (a pandas DataFrame for a team's own checks, `train_data`, `current_data`..., which ask for
a whole frame by design).

Every schema column arrives in its spec type and a bad file gets the same located sentence the data
gate would give, instead of a pandas traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from .datasets import ARROW_TYPES
from .fileset import FileSet, located

if TYPE_CHECKING:
    import pandas as pd


def read_frame(loaded: LoadedSpec, relative: str) -> pd.DataFrame:
    """The schema's columns of the split at `relative` (spec-relative), in schema order."""
    return read_split(loaded, relative).to_pandas()


def read_split(loaded: LoadedSpec, relative: str) -> pa.Table:
    """The schema's columns of the split at `relative`, typed as the spec says, as one table."""
    dtypes = {name: column.dtype for name, column in loaded.spec.data.columns.items()}
    batches = [batch for _, batch in split_batches(loaded, relative)]
    empty = pa.schema([(name, ARROW_TYPES[dtype]) for name, dtype in dtypes.items()]).empty_table()
    table = pa.Table.from_batches(batches) if batches else empty
    return table.select(list(dtypes))


def split_batches(loaded: LoadedSpec, relative: str) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(first row, batch) of the split at `relative`, every schema column in its spec type, one
    batch at a time through the files and parts in order (rows from 0 through the whole set).

    A missing schema column raises MlopsError before any batch; values that do not fit their
    type, and malformed CSV rows, raise it once the last batch has been read (the reader only
    knows them then): a caller that acts on batches as they come must hold its verdict till the
    end."""
    data = loaded.spec.data
    dtypes = {name: column.dtype for name, column in data.columns.items()}
    with located(loaded, relative):
        dataset = FileSet.open(relative, loaded.root, data.format, dtypes)
    missing = [name for name in dtypes if name not in dataset.header]
    if missing:
        raise MlopsError(f"{relative}: missing column(s) {', '.join(missing)} of data.schema")
    for batch in dataset.batches():
        yield batch.start, batch.data
    if dataset.problems:
        raise MlopsError("; ".join(p.describe(relative, dataset.locate)
                                   for p in dataset.problems.values()))
    if dataset.malformed.count:
        raise MlopsError(f"{relative}: {dataset.malformed.count} row(s) with the wrong number of "
                         f"fields, the first: {dataset.malformed.first_text!r}")
