"""The `model` fixture: the ONNX artifact behind `predict` / `predict_proba`, over the inputs a
team's checks hold - a DataFrame, one row as a mapping, a list of such rows, or a plain array.

Named inputs are put in the spec's feature order first (extra columns such as the target are
ignored), so a check never depends on column order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.spec.loader import LoadedSpec

from .onnx_model import OnnxModel

Inputs = Any
"""A DataFrame, a mapping of feature -> value, a sequence of such mappings, or an array-like."""


class Predictor:
    """Class indices (classifiers) or values (regression), and class probabilities."""

    def __init__(self, model: OnnxModel, features: Sequence[str], classes: Sequence[str]) -> None:
        self.onnx = model
        self.features = list(features)
        self.classes = list(classes)

    @classmethod
    def from_spec(cls, loaded: LoadedSpec, model: Path | bytes) -> Predictor:
        spec = loaded.spec
        classifier = spec.model.task != "regression"
        onnx = OnnxModel(model, classifier=classifier, features=spec.data.features)
        return cls(onnx, spec.data.features, spec.model.labels or [])

    def predict(self, rows: Inputs) -> npt.NDArray[Any]:
        """One prediction per row: int64 class indices for classifiers, float64 for regression."""
        values = self.onnx.predict(self.matrix(rows))
        return values.astype(np.int64) if self.onnx.classifier else values

    def predict_proba(self, rows: Inputs) -> npt.NDArray[np.float64]:
        """[rows, classes] probabilities, in the order of model.labels."""
        return self.onnx.predict_proba(self.matrix(rows))

    def matrix(self, rows: Inputs) -> npt.NDArray[np.float32]:
        """The float32 model input for `rows`; a ValueError names any missing feature."""
        if hasattr(rows, "columns") and hasattr(rows, "to_numpy"):
            self._require(list(rows.columns), "the DataFrame")
            return np.asarray(rows[self.features].to_numpy(dtype=np.float32))
        if isinstance(rows, Mapping):
            rows = [rows]
        if isinstance(rows, Sequence) and rows and all(isinstance(row, Mapping) for row in rows):
            for index, row in enumerate(rows):
                self._require(list(row), f"row {index}")
            return np.array([[row[name] for name in self.features] for row in rows], np.float32)
        return self.onnx.to_array(rows)

    def _require(self, present: list[str], what: str) -> None:
        missing = [name for name in self.features if name not in present]
        if missing:
            raise ValueError(f"{what} lacks feature(s) {', '.join(missing)}")
