"""The reference side of every comparison: the reference data, and the model's answers on it.

Features are read streaming with the data gate's reader and summarised with the same sketches
(a row `Reservoir`, exact category counts), so the monitor's drift scores on a window equal the
data gate's on the same rows. The model's scores on the first reference rows are the baseline of the
prediction shift: the live score distribution should look like the one the model gave at release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from mlops.core.columns import concat, from_arrow
from mlops.spec.loader import LoadedSpec

from ..data import arrow_numpy
from ..data.datasets import Dataset
from ..stats import CategoryCounter, Reservoir
from ..stats.drift import FloatArray

REFERENCE_PREDICTION_ROWS = 10_000
"""Reference rows the model scores for the prediction-shift baseline (the first ones, in order)."""


@dataclass
class ReferenceData:
    """A uniform sample of the numeric features and exact category counts of the reference."""

    numeric: tuple[str, ...]
    sample: Reservoir
    categories: dict[str, dict[str, int]] = field(default_factory=dict)

    def column(self, name: str) -> FloatArray:
        return self.sample.column(self.numeric.index(name))


def read_reference(loaded: LoadedSpec, path: Path, numeric: Sequence[str],
                   categorical: Sequence[str]) -> ReferenceData:
    """Stream the reference file once; raises MlopsError when it cannot be read."""
    dataset = _dataset(loaded, path)
    counters = {name: CategoryCounter() for name in categorical}
    reference = ReferenceData(tuple(numeric), Reservoir(max(1, len(numeric))))
    for batch in dataset.batches([*numeric, *categorical]):
        names = batch.data.schema.names
        columns = [_floats(batch.data.column(name)) if name in names
                   else np.full(batch.num_rows, np.nan) for name in numeric]
        block = np.column_stack(columns) if columns else np.zeros((batch.num_rows, 1))
        reference.sample.add(block, batch.row_keys())
        for name, counter in counters.items():
            if name in names:
                counter.add(batch.data.column(name))
    reference.categories = {name: counter.counts for name, counter in counters.items()}
    return reference


def _dataset(loaded: LoadedSpec, path: Path) -> Dataset:
    data = loaded.spec.data
    dtypes = {name: data.columns[name].dtype for name in data.features}
    display = str(path.relative_to(loaded.root)) if path.is_relative_to(loaded.root) else str(path)
    return Dataset(path, display, data.format, dtypes)


def _floats(array: pa.Array) -> FloatArray:
    values: FloatArray = arrow_numpy.floats(array)
    return values


@dataclass(frozen=True)
class ReferencePredictions:
    """What the model answers on the reference rows, in the request log's terms."""

    scores: FloatArray
    labels: dict[str, int]


def predict_reference(loaded: LoadedSpec, path: Path) -> ReferencePredictions:
    """Score and label the first reference rows as the server does (binary: class 1's probability;
    multiclass: the top probability; regression: the value), feeding their raw values through the
    model contract. Raises ModelError, FeedError, or ImportError without onnxruntime."""
    from ..model.loading import load_model

    spec = loaded.spec
    model = load_model(loaded)
    rules = spec.data.feature_rules()
    parts, rows = [], 0
    for batch in _dataset(loaded, path).batches(spec.data.features):
        parts.append(from_arrow(batch.data.slice(0, REFERENCE_PREDICTION_ROWS - rows), rules))
        rows += min(batch.num_rows, REFERENCE_PREDICTION_ROWS - rows)
        if rows >= REFERENCE_PREDICTION_ROWS:
            break
    scores = model.scores(concat(parts)) if parts else np.empty((0,))
    if spec.model.task == "regression":
        return ReferencePredictions(scores, {})
    names = list(model.classes) or [str(i) for i in range(scores.shape[1])]
    best = np.argmax(scores, axis=1)
    chosen = scores[:, 1] if spec.model.task == "binary_classification" else scores.max(axis=1)
    labels: dict[str, int] = {}
    for index, count in zip(*np.unique(best, return_counts=True), strict=True):
        labels[names[int(index)]] = int(count)
    return ReferencePredictions(np.asarray(chosen, dtype=np.float64), labels)
