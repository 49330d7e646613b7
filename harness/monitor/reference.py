"""The reference side of every comparison: the reference data, and the model's answers on it.

Features are read streaming with the data gate's reader and summarised with the same sketches
(a row `Reservoir`, exact category counts), so the monitor's drift scores on a window equal the
data gate's on the same rows. The model's scores on the reference sample are the baseline of the
prediction shift: the live score distribution should look like the one the model gave at release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from mlops.spec.loader import LoadedSpec

from ..data import arrow_numpy
from ..data.datasets import Dataset
from ..stats import Reservoir
from ..stats.drift import FloatArray
from .requestlog import category_key


class RowSample(Reservoir):
    """The data gate's reservoir, whose whole rows also feed the model."""

    def complete_rows(self) -> npt.NDArray[np.float32]:
        """The sampled rows with every feature present."""
        block = self.rows()
        return block[~np.isnan(block).any(axis=1)].astype(np.float32)


@dataclass
class ReferenceData:
    """A uniform sample of the model's input rows and exact category counts of the reference."""

    features: tuple[str, ...]
    sample: RowSample
    categories: dict[str, dict[str, int]] = field(default_factory=dict)

    def column(self, name: str) -> FloatArray:
        return self.sample.column(self.features.index(name))


def read_reference(loaded: LoadedSpec, path: Path, categorical: Sequence[str]) -> ReferenceData:
    """Stream the reference file once; raises MlopsError when it cannot be read."""
    data = loaded.spec.data
    features = tuple(data.features)
    dtypes = {name: data.columns[name].dtype for name in features}
    display = str(path.relative_to(loaded.root)) if path.is_relative_to(loaded.root) else str(path)
    dataset = Dataset(path, display, data.format, dtypes)
    reference = ReferenceData(features, RowSample(len(features)),
                              {name: {} for name in categorical})
    for batch in dataset.batches(features):
        columns = [_floats(batch.data.column(name)) if name in batch.data.schema.names
                   else np.full(batch.num_rows, np.nan) for name in features]
        block = np.column_stack(columns) if columns else np.zeros((batch.num_rows, 0))
        reference.sample.add(block, batch.row_keys())
        for name in categorical:
            counts = reference.categories[name]
            values = block[:, features.index(name)]
            for value, count in zip(*np.unique(values[~np.isnan(values)], return_counts=True),
                                    strict=True):
                key = category_key(float(value))
                counts[key] = counts.get(key, 0) + int(count)
    return reference


def _floats(array: pa.Array) -> FloatArray:
    values: FloatArray = arrow_numpy.floats(array)
    return values


@dataclass(frozen=True)
class ReferencePredictions:
    """What the model answers on the reference rows, in the request log's terms."""

    scores: FloatArray
    labels: dict[str, int]


def predict_reference(loaded: LoadedSpec, rows: npt.NDArray[np.float32]) -> ReferencePredictions:
    """Score and label as the server does (binary: class 1's probability; multiclass: the top
    probability; regression: the value). Raises ModelError, or ImportError without onnxruntime."""
    from ..model.onnx_model import OnnxModel

    spec = loaded.spec
    task = spec.model.task
    model = OnnxModel(loaded.resolve(spec.model.artifact), classifier=task != "regression",
                      features=spec.data.features)
    if task == "regression":
        return ReferencePredictions(model.predict(rows), {})
    proba = model.predict_proba(rows)
    names = spec.model.labels or [str(i) for i in range(proba.shape[1])]
    best = np.argmax(proba, axis=1)
    scores = proba[:, 1] if task == "binary_classification" else proba.max(axis=1)
    labels: dict[str, int] = {}
    for index, count in zip(*np.unique(best, return_counts=True), strict=True):
        labels[names[int(index)]] = int(count)
    return ReferencePredictions(np.asarray(scores, dtype=np.float64), labels)
