"""The model contract at run time: an onnxruntime session fed raw columns, answering in one form.

`OnnxModel` is the only place that turns raw columns (see `core.columns`) into graph inputs and
graph outputs into answers, for the server, the gates, the load test and a team's checks alike:
probabilities [rows, classes] (a single positive-class score gets its complement, a ZipMap is read
in class order) or values [rows].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from .columns import Columns, length, stacked
from .contract import (
    FLOAT_ELEMENTS,
    ColumnRule,
    ContractError,
    InputBinding,
    ModelContract,
    Task,
    resolve,
)
from .onnx_graph import GraphError, read_signature

NUMPY_TYPES: dict[str, type[np.generic]] = {
    "float": np.float32, "double": np.float64, "float16": np.float16, "int8": np.int8,
    "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
    "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "bool": np.bool_,
}
Feed = dict[str, npt.NDArray[Any]]
Outputs = dict[str, npt.NDArray[Any]]


class ModelError(Exception):
    """The artifact cannot be loaded or does not fit the spec; the message says why."""


class FeedError(ValueError):
    """Raw values that the model's inputs cannot take (a null for an integer input, ...)."""


def session_options(threads: int, optimize: bool = True) -> ort.SessionOptions:
    """Sequential execution, `threads` intra-op threads (0: onnxruntime's default, all cores)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxModel:
    """One onnxruntime session and its contract against the spec's columns."""

    def __init__(self, source: Path | bytes, columns: Sequence[ColumnRule], task: Task, *,
                 labels: Sequence[str] | None = None, output: str | None = None,
                 threads: int = 1, artifact: str = "the model") -> None:
        data = source.read_bytes() if isinstance(source, Path) else source
        try:
            self.contract: ModelContract = resolve(read_signature(data), columns, task,
                                                   labels=labels, output=output,
                                                   artifact=artifact)
        except GraphError as error:
            raise ModelError(f"{artifact}: {error}") from None
        except ContractError as error:
            raise ModelError(str(error)) from None
        try:
            self.session = ort.InferenceSession(data, session_options(threads),
                                                providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises several unrelated types for bad files
            raise ModelError(f"onnxruntime cannot load {artifact}: {error}") from None
        self.output_names = [str(o.name) for o in self.session.get_outputs()]
        self.classes: tuple[str, ...] = self.contract.classes

    @property
    def classifier(self) -> bool:
        return self.contract.classifier

    # --- raw columns -> graph inputs -------------------------------------------------------

    def feed(self, columns: Columns) -> Feed:
        """The graph inputs for a batch of raw columns; FeedError when a value cannot go in."""
        return {binding.name: self._tensor(binding, columns) for binding in self.contract.inputs}

    def _tensor(self, binding: InputBinding, columns: Columns) -> npt.NDArray[Any]:
        if self.contract.layout == "matrix":
            return self._numeric(binding, stacked(columns, binding.columns).T, binding.columns[0])
        name = binding.columns[0]
        values = columns[name]
        if binding.element == "string":
            tensor = _text(values, self.contract.rule(name))
        else:
            tensor = self._numeric(binding, np.asarray(values, dtype=np.float64), name)
        return tensor.reshape(-1, 1) if binding.rank == 2 else tensor

    def _numeric(self, binding: InputBinding, values: npt.NDArray[np.float64],
                 name: str) -> npt.NDArray[Any]:
        target = NUMPY_TYPES[binding.element]
        if binding.element not in FLOAT_ELEMENTS and np.isnan(values).any():
            where = name if len(binding.columns) == 1 else f"one of {binding.name}'s columns"
            raise FeedError(f"column '{where}' has missing values, but the model's input "
                            f"'{binding.name}' is {binding.element}, which cannot hold them")
        with np.errstate(over="ignore", invalid="ignore"):
            return values.astype(target, order="C")

    # --- running ----------------------------------------------------------------------------

    def run_feed(self, feed: Feed, names: Sequence[str] | None = None) -> Outputs:
        """Graph outputs by name (all, or `names`), each as an array; a ZipMap becomes a float
        array [rows, classes] in class order."""
        wanted = list(names) if names is not None else self.output_names
        raw = self.session.run(wanted, feed)
        return {name: self._array(value) for name, value in zip(wanted, raw, strict=True)}

    def run(self, columns: Columns, names: Sequence[str] | None = None) -> Outputs:
        return self.run_feed(self.feed(columns), names)

    def answer(self, outputs: Outputs, rows: int) -> npt.NDArray[np.float64]:
        """The contract's answer from a run's outputs: probabilities or values."""
        chosen = np.asarray(outputs[self.contract.output], dtype=np.float64)
        if not self.classifier:
            return chosen.reshape(rows)
        if self.contract.output_kind == "score" or (chosen.ndim == 2 and chosen.shape[1] == 1):
            positive = chosen.reshape(rows)
            return np.stack([1.0 - positive, positive], axis=1)
        return chosen.reshape(rows, -1)

    def scores(self, columns: Columns) -> npt.NDArray[np.float64]:
        """Probabilities [rows, classes] for classifiers, values [rows] for regression."""
        return self.answer(self.run(columns, [self.contract.output]), length(columns))

    def predict_proba(self, columns: Columns) -> npt.NDArray[np.float64]:
        if not self.classifier:
            raise ModelError("a regression model has no class probabilities")
        return self.scores(columns)

    def predict(self, columns: Columns) -> npt.NDArray[np.float64]:
        """Class indices (as floats) for classifiers, values for regression."""
        scores = self.scores(columns)
        if self.classifier:
            return np.asarray(np.argmax(scores, axis=1), dtype=np.float64)
        return scores

    def _array(self, value: Any) -> npt.NDArray[Any]:
        if isinstance(value, list) and value and isinstance(value[0], dict):
            keys = self._zipmap_keys(value[0])
            return np.asarray([[row[key] for key in keys] for row in value], dtype=np.float32)
        return np.asarray(value)

    def _zipmap_keys(self, first: dict[Any, Any]) -> list[Any]:
        """ZipMap keys in class order: the graph's labels when it declares them, else sorted."""
        declared = self.contract.graph_classes
        if declared is not None:
            kind = type(next(iter(first)))
            return [kind(label) for label in declared]
        return sorted(first)


def _text(values: npt.NDArray[Any], rule: ColumnRule) -> npt.NDArray[np.object_]:
    """A string tensor: nulls become the column's placeholder, every cell a str.

    One pass over the cells: a column of strings alone (what the server's schema check and the
    data readers hand over) is passed on as it is, without a copy; onnxruntime does not write to it.
    """
    column = np.asarray(values, dtype=object)
    cells = column.tolist()
    if set(map(type, cells)) == {str}:
        return column
    placeholder = rule.null_value
    tensor = np.empty(len(cells), dtype=object)
    tensor[:] = [placeholder if cell is None else str(cell) for cell in cells]
    return tensor
