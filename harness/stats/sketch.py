"""Bounded summaries built batch by batch, so a drift check never holds a whole file in memory.

Numeric features keep a uniform row sample (Algorithm R). Up to `RESERVOIR_ROWS` rows the sample
is the data itself and every statistic is exact; beyond it, histograms, KS and Wasserstein are
computed on the sample (a 100,000-row sample puts proportions within about 0.002 of the full
data's, and KS p-values are those of the sample, which is conservative). Categorical features are
counted exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .drift import FloatArray

RESERVOIR_ROWS = 100_000


class Reservoir:
    """A uniform sample of at most `capacity` rows of a float matrix (one column per feature)."""

    def __init__(self, width: int, capacity: int = RESERVOIR_ROWS, seed: int = 0) -> None:
        self.capacity = capacity
        self.seen = 0
        self._rows = np.empty((capacity, width), dtype=np.float64)
        self._rng = np.random.default_rng(seed)

    @property
    def complete(self) -> bool:
        """True when the sample holds every row seen, so statistics on it are exact."""
        return self.seen <= self.capacity

    def add(self, block: FloatArray) -> None:
        """Add rows (shape [rows, width]); NaN marks a missing value."""
        rows = block.shape[0]
        free = max(0, min(rows, self.capacity - self.seen))
        if free:
            self._rows[self.seen:self.seen + free] = block[:free]
        if rows > free:
            index = np.arange(self.seen + free, self.seen + rows)
            slots = self._rng.integers(0, index + 1)
            keep = slots < self.capacity
            self._rows[slots[keep]] = block[free:][keep]
        self.seen += rows

    def column(self, position: int) -> FloatArray:
        """The sampled values of one feature, missing values dropped."""
        values = self._rows[: min(self.seen, self.capacity), position]
        result: FloatArray = values[~np.isnan(values)]
        return result


class CategoryCounter:
    """Exact counts of each value of a categorical column (nulls not counted)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, values: pa.Array) -> None:
        for item in pc.value_counts(values.drop_null()).to_pylist():
            key = str(item["values"])
            self.counts[key] = self.counts.get(key, 0) + int(item["counts"])
