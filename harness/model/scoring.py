"""The model gate's one pass over the test split: each batch is scored by the candidate (and the
baseline model, when there is one) and then dropped, keeping per row only what the metrics need.

Per row the pass keeps the target (8 bytes), each model's probabilities or value (8 bytes a class)
and the columns slices and group gaps select on. Besides, it holds what the data gate's reader holds
for one part (`datasets`: a Parquet part's row groups, up to `PART_ROWS` rows, or a CSV part's
32 MiB), the features of one batch of that part converted to numpy (about `BATCH_ROWS` rows), and
the features of a bounded row sample (`sample.SAMPLE_ROWS` rows) for parity and robustness. Memory
therefore grows with rows x (classes + slice columns), not rows x columns: a binary classifier with a
baseline model keeps 40 bytes a row (twice that while the batches' outputs are joined at the end),
plus each slice column's values. Measured on 1,000,000 rows x 122 float columns (1.1 GiB of
Parquet): 0.9 GiB peak resident memory against 3.7 GiB when the split was read whole
(`bench/bench_model_gate.py`).

A model that cannot score a batch does not end the pass: the data gate's verdict on the split
(a value of the wrong type, a missing target) is only known once every batch is read, and it is
the problem to report first, as it was when the split was read whole before any model ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns
from mlops.core.runtime import FeedError, ModelError, OnnxModel
from mlops.spec.loader import LoadedSpec

from . import metrics as m
from .sample import RowSample
from .testset import DataProblem, Targets, read_chunks


def evaluate(model: OnnxModel, columns: Columns) -> m.Outputs:
    if model.classifier:
        return m.Outputs(proba=model.predict_proba(columns))
    return m.Outputs(values=model.predict(columns))


@dataclass
class Scored:
    """What the pass kept of the test split."""

    target: npt.NDArray[Any]
    class_names: list[str]
    outputs: m.Outputs
    """The candidate's, every row."""
    baseline: m.Outputs | None
    """The baseline model's, every row (None: no baseline model, or it could not score a batch)."""
    baseline_problem: str | None
    columns: dict[str, npt.NDArray[Any]]
    """The columns asked to be kept, every row, raw."""
    sample: dict[str, npt.NDArray[Any]]
    """The features of the sampled rows, raw, in row order."""
    sample_index: npt.NDArray[np.int64]
    """The sampled rows' indices in the split."""
    largest_batch: int
    """The most rows whose features were held at once outside the sample (the gate's own
    bookkeeping of its memory bound)."""

    @property
    def rows(self) -> int:
        return len(self.target)


@dataclass
class _Scorer:
    """The outputs of one model, batch after batch, or the first exception it raised."""

    model: OnnxModel | None
    failure: Exception | None = None
    parts: list[m.Outputs] = field(default_factory=list)

    def add(self, features: Columns) -> None:
        if self.model is None or self.failure is not None:
            return
        try:
            self.parts.append(evaluate(self.model, features))
        except (ModelError, FeedError) as error:
            self.failure = error
            self.parts = []

    def outputs(self) -> m.Outputs:
        """Every batch's outputs, in row order (the split has rows: `Targets` made sure)."""
        if self.parts[0].proba is not None:
            return m.Outputs(proba=np.concatenate([part.proba for part in self.parts
                                                   if part.proba is not None]))
        return m.Outputs(values=np.concatenate([part.values for part in self.parts
                                                if part.values is not None]))


def score_split(loaded: LoadedSpec, model: OnnxModel | ModelError, baseline: OnnxModel | None,
                keep: Sequence[str], sample_rows: int | None = None) -> Scored:
    """Score the test split with `model` (or report why it could not load) and `baseline`.

    `sample_rows` (default `sample.SAMPLE_ROWS`) bounds the row sample. Raises DataProblem when
    the split cannot be evaluated, else the candidate's ModelError or FeedError when it could not
    score every row."""
    spec = loaded.spec
    features = spec.data.features
    names = list(dict.fromkeys([*features, spec.data.target, *keep]))
    candidate = _Scorer(model if isinstance(model, OnnxModel) else None,
                        model if isinstance(model, ModelError) else None)
    old = _Scorer(baseline)
    targets = Targets(loaded)
    sample = RowSample(sample_rows)
    kept: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in keep}
    largest = 0
    for chunk in read_chunks(loaded, names):
        rows = {name: chunk.columns[name] for name in features}
        largest = max(largest, chunk.rows)
        targets.add(chunk.columns[spec.data.target])
        for name in keep:
            kept[name].append(chunk.columns[name])
        candidate.add(rows)
        if candidate.failure is None:  # else the rest only looks for problems in the data
            old.add(rows)
            sample.add(chunk.start, rows)
    target, class_names = targets.finish()
    if candidate.failure is not None:
        raise candidate.failure
    return Scored(
        target=target,
        class_names=class_names,
        outputs=candidate.outputs(),
        baseline=None if baseline is None or old.failure is not None else old.outputs(),
        baseline_problem=None if old.failure is None else str(old.failure),
        columns={name: np.concatenate(parts) for name, parts in kept.items()},
        sample=sample.columns(),
        sample_index=sample.index(),
        largest_batch=largest,
    )


def outputs_on_split(loaded: LoadedSpec, model: OnnxModel) -> m.Outputs:
    """`model`'s outputs on every test row, batch by batch (a second pass, for a model known only
    after the first: the retrained one). A split that became unreadable since is a FeedError."""
    scorer = _Scorer(model)
    try:
        for chunk in read_chunks(loaded, loaded.spec.data.features):
            scorer.add(chunk.columns)
    except DataProblem as problem:
        raise FeedError(str(problem)) from None
    if scorer.failure is not None:
        raise scorer.failure
    if not scorer.parts:
        raise FeedError(f"{loaded.spec.data.test} has no rows")
    return scorer.outputs()
