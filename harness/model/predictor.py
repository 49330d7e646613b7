"""The `model` fixture: the ONNX artifact behind `predict` / `predict_proba`, over the inputs a
team's checks hold - a DataFrame, one row as a mapping, a list of such rows, or a plain array.

Named inputs go through the model contract with their raw values (strings, nulls), exactly as the
server feeds them; extra columns such as the target are ignored, so a check never depends on
column order. A plain array is read in the spec's feature order (numeric features only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import from_records
from mlops.core.runtime import OnnxModel
from mlops.spec.loader import LoadedSpec

from .loading import load_model

Inputs = Any
"""A DataFrame, a mapping of feature -> value, a sequence of such mappings, or an array-like."""


class Predictor:
    """Class indices (classifiers) or values (regression), and class probabilities."""

    def __init__(self, model: OnnxModel) -> None:
        self.onnx = model
        self.rules = model.contract.columns
        self.features = list(model.contract.features)
        self.classes = list(model.classes)

    @classmethod
    def from_spec(cls, loaded: LoadedSpec, model: Path | bytes) -> Predictor:
        return cls(load_model(loaded, model))

    def predict(self, rows: Inputs) -> npt.NDArray[Any]:
        """One prediction per row: int64 class indices for classifiers, float64 for regression."""
        values = self.onnx.predict(self.columns(rows))
        return values.astype(np.int64) if self.onnx.classifier else values

    def predict_proba(self, rows: Inputs) -> npt.NDArray[np.float64]:
        """[rows, classes] probabilities, in the order of model.labels."""
        return self.onnx.predict_proba(self.columns(rows))

    def columns(self, rows: Inputs) -> dict[str, npt.NDArray[Any]]:
        """Raw feature columns for `rows`; a ValueError names any missing feature."""
        if hasattr(rows, "columns") and hasattr(rows, "to_dict"):
            self._require(list(rows.columns), "the DataFrame")
            return from_records(rows[self.features].to_dict("records"), self.rules)
        if isinstance(rows, Mapping):
            rows = [rows]
        if isinstance(rows, Sequence) and rows and all(isinstance(row, Mapping) for row in rows):
            for index, row in enumerate(rows):
                self._require(list(row), f"row {index}")
            return from_records(rows, self.rules)
        matrix = np.asarray(rows, dtype=np.float64)
        matrix = matrix.reshape(1, -1) if matrix.ndim == 1 else matrix
        if matrix.shape[1] != len(self.features):
            raise ValueError(f"an array row needs {len(self.features)} values, one per feature "
                             f"({', '.join(self.features)}); got {matrix.shape[1]}")
        return {name: matrix[:, index] for index, name in enumerate(self.features)}

    def _require(self, present: list[str], what: str) -> None:
        missing = [name for name in self.features if name not in present]
        if missing:
            raise ValueError(f"{what} lacks feature(s) {', '.join(missing)}")
