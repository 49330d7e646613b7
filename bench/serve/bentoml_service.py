"""BentoML 1.4's documented service shape: a `@bentoml.service` class that opens the model in
`__init__` and exposes `@bentoml.api` methods; one-input models go through an adaptive-batching
(`batchable=True`) ndarray API, as BentoML recommends for per-row models, and multi-input models
(one graph input per column) through a plain API taking {input: column}. Runs in BentoML's own
venv: `bentoml serve bentoml_service:OnnxService --port PORT` with BENCH_MODEL set.
"""

from __future__ import annotations

import os
from typing import Any

import bentoml  # type: ignore[import-not-found]  # the peer's venv, copied beside
import numpy as np
from onnx_feeds import feeds, open_session  # type: ignore[import-not-found]  # the peer's venv, copied beside


@bentoml.service(workers=1)
class OnnxService:
    def __init__(self) -> None:
        self.session = open_session(os.environ["BENCH_MODEL"])
        self.name = self.session.get_inputs()[0].name

    @bentoml.api(batchable=True, max_batch_size=32, max_latency_ms=1000)  # type: ignore[untyped-decorator]
    def predict(self, input: np.ndarray) -> np.ndarray:  # the JSON field's name
        scores: np.ndarray = self.session.run(
            ["probabilities"], {self.name: input.astype(np.float32, copy=False)})[0]
        return scores

    @bentoml.api  # type: ignore[untyped-decorator]
    def predict_columns(self, inputs: dict[str, Any]) -> list[list[float]]:
        scores: list[list[float]] = self.session.run(
            ["probabilities"], feeds(self.session, inputs))[0].tolist()
        return scores
