"""The ONNX artifact as the gates see it: one float32 input [batch, n_features], one useful output.

Classifiers are read from their `probabilities` output (skl2onnx also emits `label`, which is
ignored: the class is the argmax, as the server computes it); a binary model with a single score
column gets the complementary column added. Regression models return [batch] or [batch, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

FloatArray = npt.NDArray[np.float64]
Rows = Sequence[Mapping[str, float]]


class ModelError(Exception):
    """The artifact cannot be loaded or does not follow the model contract."""


def session_options(threads: int) -> ort.SessionOptions:
    """Sequential execution, `threads` intra-op threads (0: onnxruntime's default, all cores)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return options


class OnnxModel:
    """An onnxruntime session plus the contract: which input, which output, which features."""

    def __init__(
        self,
        model: Path | bytes,
        *,
        classifier: bool,
        features: Sequence[str] | None = None,
        threads: int = 1,
    ) -> None:
        source = str(model) if isinstance(model, Path) else model
        try:
            self.session = ort.InferenceSession(
                source, session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped exception classes
            raise ModelError(f"onnxruntime cannot load the model: {error}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"expected one input tensor, found {len(inputs)}")
        self.input_name: str = inputs[0].name
        width = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
        self.n_features: int | None = width if isinstance(width, int) else None
        self.features = list(features) if features is not None else None
        if self.features is not None and self.n_features not in (None, len(self.features)):
            raise ModelError(
                f"the model takes {self.n_features} features but data.schema lists {len(self.features)}"
            )
        self.classifier = classifier
        self.output_name = self._pick_output()

    def _pick_output(self) -> str:
        outputs = self.session.get_outputs()
        names: list[str] = [str(output.name) for output in outputs]
        if not self.classifier:
            return names[0]
        if "probabilities" in names:
            return "probabilities"
        floats = [str(o.name) for o in outputs if o.type == "tensor(float)" and len(o.shape) == 2]
        if not floats:
            raise ModelError(f"no float [batch, n_classes] probabilities output among {', '.join(names)}")
        return floats[0]

    def to_array(self, rows: npt.ArrayLike | Rows) -> npt.NDArray[np.float32]:
        """Rows as named-feature mappings or a 2-D array -> the float32 model input."""
        if isinstance(rows, Sequence) and rows and isinstance(rows[0], Mapping):
            if self.features is None:
                raise ModelError("named-feature rows need the feature order")
            named: Rows = rows  # type: ignore[assignment]
            return np.array([[row[name] for name in self.features] for row in named], np.float32)
        array = np.asarray(rows, dtype=np.float32)
        return array.reshape(1, -1) if array.ndim == 1 else array

    def run(self, rows: npt.ArrayLike | Rows) -> FloatArray:
        """The raw chosen output as float64."""
        result = self.session.run([self.output_name], {self.input_name: self.to_array(rows)})
        return np.asarray(result[0], dtype=np.float64)

    def predict_proba(self, rows: npt.ArrayLike | Rows) -> FloatArray:
        if not self.classifier:
            raise ModelError("a regression model has no class probabilities")
        scores = self.run(rows)
        if scores.ndim == 1 or scores.shape[1] == 1:
            positive = scores.reshape(-1)
            return np.stack([1.0 - positive, positive], axis=1)
        return scores

    def predict(self, rows: npt.ArrayLike | Rows) -> FloatArray:
        """Class indices for classifiers (as floats), values for regression."""
        if self.classifier:
            return np.asarray(np.argmax(self.predict_proba(rows), axis=1), dtype=np.float64)
        values: FloatArray = self.run(rows).reshape(-1)
        return values
