"""Raw column values, the one shape every consumer of the model contract hands it.

A batch is a mapping of column name -> 1-D numpy array with one entry per row, holding the values
as the data or the client gave them: numbers (and bools, as 0/1) as float64 with NaN for a null;
text as an object array of `str`, with `None` for a null. Keeping nulls and strings raw until the
last step is what lets the server, the gates and the load test feed a model exactly the same
values, so training/serving skew is caught rather than created.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .contract import ColumnRule

Columns = Mapping[str, npt.NDArray[Any]]


def length(columns: Columns) -> int:
    """Rows in a batch (0 for a batch without columns)."""
    return len(next(iter(columns.values()))) if columns else 0


def take(columns: Columns, index: npt.NDArray[Any] | slice) -> dict[str, npt.NDArray[Any]]:
    """The rows selected by a boolean mask, an index array or a slice."""
    return {name: values[index] for name, values in columns.items()}


class Matrix(Mapping[str, npt.NDArray[Any]]):
    """Numeric columns that arrived as one row-major matrix [rows, columns] (a v2 tensor carrying
    every feature): a column is a view into it, made when asked for, and `stacked` hands a
    consumer the matrix itself. For a one-row request of 30 features, splitting the tensor into
    columns and stacking them again for the schema check, the metrics and the feed cost more
    than the model."""

    __slots__ = ("_index", "block", "names")

    def __init__(self, block: npt.NDArray[np.float64], names: tuple[str, ...]) -> None:
        self.block = block
        self.names = names
        self._index: dict[str, int] | None = None

    def __getitem__(self, name: str) -> npt.NDArray[np.float64]:
        if self._index is None:
            self._index = {column: position for position, column in enumerate(self.names)}
        return self.block[:, self._index[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def stacked(columns: Columns, names: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """Numeric columns as one float64 matrix [len(names), rows], to read, not to write: the
    matrix they came in when they did (see `Matrix`), else a new one."""
    if isinstance(columns, Matrix) and columns.names == names:
        return columns.block.T
    return np.array([columns[name] for name in names], dtype=np.float64)


def concat(parts: Sequence[Columns]) -> Columns:
    """Batches one after another (the same columns in each); matrices stay one matrix."""
    first = parts[0]
    if len(parts) == 1:
        return first
    if isinstance(first, Matrix):
        matrices = [p for p in parts if isinstance(p, Matrix) and p.names == first.names]
        if len(matrices) == len(parts):
            return Matrix(np.concatenate([part.block for part in matrices]), first.names)
    return {name: np.concatenate([part[name] for part in parts]) for name in first}


def text_array(values: Iterable[Any]) -> npt.NDArray[np.object_]:
    """An object array of str/None from any iterable of text cells (a float NaN, as pandas
    writes a missing text cell, is None too)."""
    items = list(values)
    if any(issubclass(kind, float) for kind in set(map(type, items))):
        items = [None if isinstance(value, float) and value != value else value for value in items]
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def from_records(records: Sequence[Mapping[str, Any]],
                 rules: Sequence[ColumnRule]) -> dict[str, npt.NDArray[Any]]:
    """Rows as mappings (a team's check, a JSON body) -> raw columns; KeyError names a missing
    column. Values are not validated here: numbers that are not numbers become NaN."""
    result: dict[str, npt.NDArray[Any]] = {}
    for rule in rules:
        cells = [record[rule.name] for record in records]
        result[rule.name] = text_array(cells) if rule.text else numbers(cells)
    return result


def numbers(cells: Sequence[Any]) -> npt.NDArray[np.float64]:
    """Numeric cells (None -> NaN, bool -> 0/1); anything else non-numeric becomes NaN."""
    try:
        return np.asarray([np.nan if cell is None else cell for cell in cells], dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray([_number(cell) for cell in cells], dtype=np.float64)


def _number(cell: Any) -> float:
    if isinstance(cell, bool | int | float):
        return float(cell)
    return float("nan")


def from_arrow(table: Any, rules: Sequence[ColumnRule]) -> dict[str, npt.NDArray[Any]]:
    """A pyarrow Table or RecordBatch -> raw columns of `rules` (typed as the spec says)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    result: dict[str, npt.NDArray[Any]] = {}
    for rule in rules:
        column = table.column(rule.name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if rule.text:
            result[rule.name] = text_array(pc.cast(column, pa.string()).to_pylist())
        else:
            values = pc.cast(column, pa.float64())
            if values.null_count:  # fill_null copies the column even when it holds no null
                values = values.fill_null(np.nan)
            result[rule.name] = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return result


def null_mask(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True where a raw value is null (NaN for numbers, None for text)."""
    if values.dtype == object:
        return np.fromiter((value is None for value in values.tolist()), np.bool_, len(values))
    return np.asarray(np.isnan(values))


def to_records(columns: Columns) -> list[dict[str, Any]]:
    """Raw columns -> JSON-ready rows (NaN -> None), e.g. for request bodies and request logs."""
    names = list(columns)
    converted = [[None if isinstance(v, float) and v != v else v for v in columns[name].tolist()]
                 for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*converted, strict=True)]


def valid_rows(rules: Sequence[ColumnRule], rows: int) -> dict[str, npt.NDArray[Any]]:
    """`rows` identical rows that obey every rule (an allowed value, a value within the bounds):
    what warm-up and a benchmark without test data feed the model."""
    columns: dict[str, npt.NDArray[Any]] = {}
    for rule in rules:
        if rule.allowed:
            value: Any = rule.allowed[0]
        elif rule.text:
            value = rule.null_value if rule.nullable else "x"
        else:
            value = rule.min if rule.min is not None else rule.max if rule.max is not None else 0
        columns[rule.name] = (text_array([str(value)] * rows) if rule.text
                              else np.full(rows, float(value)))
    return columns
