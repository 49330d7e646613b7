"""The spec's model on onnxruntime, through the one model contract (`mlops.core.runtime`)."""

from __future__ import annotations

from pathlib import Path

from mlops.core.runtime import OnnxModel
from mlops.spec.loader import LoadedSpec


def load_model(loaded: LoadedSpec, source: Path | bytes | None = None, *, threads: int = 1,
               where: str | None = None) -> OnnxModel:
    """`model.artifact` (or another version of it: `source`, named `where` in messages) bound to
    data.schema's columns; raises `ModelError` when it cannot be loaded or does not fit."""
    spec = loaded.spec
    return OnnxModel(source if source is not None else loaded.resolve(spec.model.artifact),
                     spec.data.feature_rules(), spec.model.task, labels=spec.model.labels,
                     output=spec.model.output, threads=threads,
                     artifact=where or spec.model.artifact)
