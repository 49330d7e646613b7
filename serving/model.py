"""The model behind the server: the contract's onnxruntime model plus what the protocol shows.

The contract (`mlops.core.contract`) is checked once at load time, so a wrong artifact fails
`mlops serve` with a sentence instead of failing every request; warm-up runs every batch size the
server will use on valid rows built from data.schema, and fixes the class labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns, valid_rows
from mlops.core.digest import file_digest
from mlops.core.runtime import ModelError, OnnxModel, Outputs

from .config import ServerConfig
from .lineage import VERSION_ENV, Lineage, version_problem

ORT_TO_V2 = {
    "float": "FP32", "double": "FP64", "float16": "FP16", "int64": "INT64", "int32": "INT32",
    "int16": "INT16", "int8": "INT8", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32",
    "uint64": "UINT64", "bool": "BOOL", "string": "BYTES",
}

__all__ = ["ModelError", "ServedModel", "TensorInfo"]


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output as the Open Inference Protocol describes it (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def metadata(self) -> dict[str, object]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


class ServedModel:
    """One model, loaded and checked against the spec, as the server runs it."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if not os.path.isfile(config.model_path):
            raise ModelError(f"model artifact not found: {config.model_path}")
        problem = version_problem(config.model_version, VERSION_ENV)
        if problem:
            raise ModelError(problem)
        digest, _ = file_digest(Path(config.model_path))
        self.lineage = Lineage.of(config.name, digest, config.model_version, config.commit)
        self.model = OnnxModel(Path(config.model_path), config.columns, config.task,
                               labels=config.labels, output=config.output,
                               threads=config.threads, artifact=config.model_path)
        contract = self.model.contract
        self.inputs = tuple(
            TensorInfo(binding.name, ORT_TO_V2.get(binding.element, binding.element),
                       (-1, len(binding.columns)) if binding.rank == 2 else (-1,))
            for binding in contract.inputs)
        self.outputs = tuple(self._output(node) for node in self.model.session.get_outputs())
        self.labels: tuple[str, ...] = ()

    def _output(self, node: Any) -> TensorInfo:
        if node.name == self.model.contract.output and self.model.contract.output_kind == "zipmap":
            return TensorInfo(node.name, "FP32", (-1, len(self.model.classes) or -1))
        shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (node.shape or []))
        element = str(node.type).removeprefix("tensor(").removesuffix(")")
        return TensorInfo(node.name, ORT_TO_V2.get(element, "BYTES"), shape)

    def run(self, columns: Columns) -> Outputs:
        """Every output of one model run on raw columns."""
        return self.model.run(columns)

    def scores(self, outputs: Outputs, rows: int) -> npt.NDArray[np.float64]:
        """Probabilities [rows, classes] or values [rows] from a run's outputs."""
        return self.model.answer(outputs, rows)

    def warm_up(self, max_batch_size: int) -> None:
        """Run every batch size the server will use once, and fix the class labels."""
        scores: npt.NDArray[np.float64] = np.empty((0, 0))
        for rows in sorted({1, max(1, max_batch_size // 2), max_batch_size}):
            scores = self.scores(self.run(valid_rows(self.config.columns, rows)), rows)
            if scores.shape[0] != rows:
                raise ModelError(f"the model returned {scores.shape[0]} rows for {rows} inputs")
        if self.config.task == "regression":
            return
        classes = self.model.classes
        if classes and len(classes) != scores.shape[1]:
            raise ModelError(f"{len(classes)} class labels but the model outputs "
                             f"{scores.shape[1]} probabilities")
        self.labels = classes or tuple(str(i) for i in range(scores.shape[1]))
