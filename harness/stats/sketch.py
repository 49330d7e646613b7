"""Bounded summaries built batch by batch, so a drift check never holds a whole file in memory.

Numeric features keep a uniform row sample. Up to `RESERVOIR_ROWS` rows the sample is the data
itself and every statistic is exact; beyond it, histograms, KS and Wasserstein are computed on the
sample (a 100,000-row sample puts proportions within about 0.002 of the full data's, and KS
p-values are those of the sample, which is conservative). Categorical features are counted exactly.

The sample keeps the rows whose keys hash lowest (a bottom-k sample) rather than drawing random
slots: it is the same whatever order the rows arrive in, so the parts of a file can add to it from
several threads, and the same file read with any number of threads gives the same sample.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .drift import FloatArray

RESERVOIR_ROWS = 100_000
KeyArray = npt.NDArray[np.uint64]


def mix64(values: KeyArray) -> KeyArray:
    """splitmix64's finalizer: spreads the bits of each key (a bijection on 64-bit integers)."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    result: KeyArray = values ^ (values >> np.uint64(31))
    return result


class Reservoir:
    """A uniform sample of at most `capacity` rows of a float matrix (one column per feature)."""

    def __init__(self, width: int, capacity: int = RESERVOIR_ROWS, seed: int = 0) -> None:
        self.capacity = capacity
        self.seen = 0
        self._seed = np.uint64(seed)
        self._size = 0
        self._rows = np.empty((capacity, width), dtype=np.float64)  # pages are touched as filled
        self._keys: KeyArray = np.empty(capacity, dtype=np.uint64)
        self._priority: KeyArray = np.empty(capacity, dtype=np.uint64)
        self._ordered: FloatArray | None = None

    @property
    def complete(self) -> bool:
        """True when the sample holds every row seen, so statistics on it are exact."""
        return self.seen <= self.capacity

    def add(self, block: FloatArray, keys: KeyArray | None = None) -> None:
        """Add rows (shape [rows, width]); NaN marks a missing value. `keys` identify the rows,
        distinct and in file order; by default they count the rows seen."""
        if keys is None:
            keys = np.arange(self.seen, self.seen + block.shape[0], dtype=np.uint64)
        self.seen += block.shape[0]
        self._ordered = None
        priority = mix64(keys ^ self._seed)
        free = min(self.capacity - self._size, priority.size)
        if free:
            end = self._size + free
            self._rows[self._size:end] = block[:free]
            self._keys[self._size:end], self._priority[self._size:end] = keys[:free], priority[:free]
            self._size = end
            block, keys, priority = block[free:], keys[free:], priority[free:]
        if not priority.size or not self.capacity:
            return
        better = priority < self._priority.max()  # most rows of a long file stop here
        if not better.any():
            return
        block, keys, priority = block[better], keys[better], priority[better]
        lowest = np.argpartition(np.concatenate([self._priority, priority]),
                                 self.capacity - 1)[:self.capacity]
        incoming = lowest[lowest >= self.capacity] - self.capacity
        stays = np.zeros(self.capacity, dtype=bool)
        stays[lowest[lowest < self.capacity]] = True
        slots = np.flatnonzero(~stays)
        self._rows[slots], self._keys[slots] = block[incoming], keys[incoming]
        self._priority[slots] = priority[incoming]

    def rows(self) -> FloatArray:
        """The sampled rows: in key (file) order while complete, else by priority, so the order
        never depends on how the rows were batched or in which order they arrived."""
        if self._ordered is None:
            size = self._size
            order = self._keys[:size] if self.complete else self._priority[:size]
            self._ordered = self._rows[:size][np.argsort(order, kind="stable")]
        return self._ordered

    def column(self, position: int) -> FloatArray:
        """The sampled values of one feature, missing values dropped."""
        values = self.rows()[:, position]
        result: FloatArray = values[~np.isnan(values)]
        return result


def category_key(value: str | float | bool) -> str:
    """How a categorical value is counted everywhere (data gate, reference, request log): text as
    it is; numbers as written, so 1, 1.0 and true are the same category '1'."""
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


class CategoryCounter:
    """Exact counts of each value of a categorical column (nulls not counted)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, values: pa.Array) -> None:
        for item in pc.value_counts(values.drop_null()).to_pylist():
            self.count(category_key(item["values"]), int(item["counts"]))

    def count(self, key: str, times: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + times

    def merge(self, other: CategoryCounter) -> None:
        for key, times in other.counts.items():
            self.count(key, times)
