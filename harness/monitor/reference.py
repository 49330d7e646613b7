"""The reference side of every comparison: the reference data, and the model's answers on it.

Features are read streaming with the data gate's reader, part by part on the data gate's engine
(this machine's cores, or Ray tasks), and summarised with the same sketches (a row sample, exact
category counts), so the monitor's drift scores on a window equal the data gate's on the same rows.
The model's scores on the first reference rows are the baseline of the
prediction shift: the live score distribution should look like the one the model gave at release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from mlops.core.columns import concat, from_arrow
from mlops.spec.loader import LoadedSpec

from ..data import arrow_numpy
from ..data.datasets import Part
from ..data.fileset import FileSet, located
from ..data.scan import Sample, sample_bound
from ..engine import Engine, PartProgress, open_engine
from ..stats import CategoryCounter
from ..stats.drift import FloatArray

REFERENCE_PREDICTION_ROWS = 10_000
"""Reference rows the model scores for the prediction-shift baseline (the first ones, in order)."""


@dataclass
class ReferenceData:
    """A uniform sample of the numeric features and exact category counts of the reference."""

    numeric: tuple[str, ...]
    sample: Sample
    categories: dict[str, dict[str, int]] = field(default_factory=dict)

    def column(self, name: str) -> FloatArray:
        return self.sample.column(self.numeric.index(name))


def read_reference(loaded: LoadedSpec, location: str, numeric: Sequence[str],
                   categorical: Sequence[str], engine: Engine | None = None) -> ReferenceData:
    """Stream the reference data once, its parts on `engine` (default: this machine's cores);
    raises MlopsError when it cannot be read."""
    if engine is None:
        with open_engine() as local:
            return read_reference(loaded, location, numeric, categorical, local)
    dataset = _dataset(loaded, location)
    parts = dataset.parts([*numeric, *categorical])
    reference = ReferenceData(tuple(numeric), Sample(max(1, len(numeric))))
    counters = {name: CategoryCounter() for name in categorical}
    progress = PartProgress(dataset.display, len(parts))
    bound = sample_bound(parts)
    jobs = [(tuple(numeric), tuple(categorical), bound, part) for part in parts]
    for part, (rows, sample, counted) in zip(parts, engine.map(_summarise_part, jobs), strict=True):
        part.rows = rows
        reference.sample.merge(sample)
        for name, counter in counters.items():
            counter.merge(counted[name])
        progress.advance(rows)
    reference.categories = {name: counter.counts for name, counter in counters.items()}
    return reference


def _summarise_part(job: tuple[tuple[str, ...], tuple[str, ...], int | None, Part]
                    ) -> tuple[int, Sample, dict[str, CategoryCounter]]:
    """One part's rows of the sample and category counts (the task each engine runs)."""
    numeric, categorical, bound, part = job
    sample = Sample(max(1, len(numeric)))
    counters = {name: CategoryCounter() for name in categorical}
    for batch in part.batches():
        names = batch.data.schema.names
        columns = [_floats(batch.data.column(name)) if name in names
                   else np.full(batch.num_rows, np.nan) for name in numeric]
        block = np.column_stack(columns) if columns else np.zeros((batch.num_rows, 1))
        sample.add_below(block, batch.row_keys(), bound)
        for name, counter in counters.items():
            if name in names:
                counter.add(batch.data.column(name))
    return part.rows, sample, counters


def _dataset(loaded: LoadedSpec, location: str) -> FileSet:
    data = loaded.spec.data
    dtypes = {name: data.columns[name].dtype for name in data.features}
    with located(loaded, location):
        return FileSet.open(location, loaded.root, data.format, dtypes)


def _floats(array: pa.Array) -> FloatArray:
    values: FloatArray = arrow_numpy.floats(array)
    return values


@dataclass(frozen=True)
class ReferencePredictions:
    """What the model answers on the reference rows, in the request log's terms."""

    scores: FloatArray
    labels: dict[str, int]


def predict_reference(loaded: LoadedSpec, location: str) -> ReferencePredictions:
    """Score and label the first reference rows as the server does (binary: class 1's probability;
    multiclass: the top probability; regression: the value), feeding their raw values through the
    model contract. Raises ModelError, FeedError, or ImportError without onnxruntime."""
    from ..model.loading import load_model

    spec = loaded.spec
    model = load_model(loaded)
    rules = spec.data.feature_rules()
    parts, rows = [], 0
    for batch in _dataset(loaded, location).batches(spec.data.features):
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
