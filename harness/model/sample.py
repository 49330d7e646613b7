"""A bounded, deterministic sample of test rows (their feature values), for the checks that run
other code on rows rather than summing over them: ONNX-vs-native parity and the robustness
properties.

The sample is the `capacity` rows whose index in the whole split hashes lowest (a bottom-k
sample, `stats.sketch.mix64`), returned in row order. A row's priority depends only on its place in
the split (files in path order, rows in file order), never on how the split is cut into files,
row groups or parts, so the same rows give the same sample; a split of at most `capacity` rows is
sampled whole, in order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns, concat, take

from ..stats.sketch import mix64

SAMPLE_ROWS = 10_000
"""Rows parity and robustness use: a native model runs on all of them in one call (a scikit-learn
pipeline takes well under a second), and hypothesis draws its test rows from them."""
_SEED = np.uint64(0x5DEECE66D)


class RowSample:
    """The lowest-priority `capacity` rows seen so far, with their columns."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = SAMPLE_ROWS if capacity is None else capacity
        self.seen = 0
        self._priority: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self._index: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._columns: Columns = {}

    def add(self, start: int, columns: Columns) -> None:
        """Offer consecutive rows, the first at index `start` of the split."""
        rows = len(next(iter(columns.values())))
        self.seen += rows
        index = np.arange(start, start + rows, dtype=np.int64)
        priority = mix64(index.astype(np.uint64) ^ _SEED)
        if len(self._priority) >= self.capacity:
            below = priority < self._priority.max()
            index, priority, columns = index[below], priority[below], take(columns, below)
            if not len(index):
                return
        merged = concat([self._columns, columns]) if self._columns else dict(columns)
        index = np.concatenate([self._index, index])
        priority = np.concatenate([self._priority, priority])
        if len(priority) > self.capacity:
            kept = np.argpartition(priority, self.capacity - 1)[:self.capacity]
            merged, index, priority = take(merged, kept), index[kept], priority[kept]
        self._columns, self._index, self._priority = merged, index, priority

    @property
    def rows(self) -> int:
        return len(self._index)

    def index(self) -> npt.NDArray[np.int64]:
        """The sampled rows' indices in the split, ascending."""
        return np.sort(self._index)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """The sampled rows' columns, in row order."""
        return take(self._columns, np.argsort(self._index, kind="stable"))
