"""The test split as the model and benchmark gates need it: raw column values (strings as text,
nulls kept; see `mlops.core.columns`), the target as class indices (or floats).

`read_chunks` reads the split batch by batch with the data gate's typed reader and converts only
the columns asked for, so a caller holds one batch of features at a time; `Targets` gathers the
target of every row (8 bytes a row) and checks it once the split is read. Nothing holds the whole
split: the model gate and `mlops init` score it in one pass (`scoring`), the bench gate stops after
its first rows. Problems become `DataProblem`s with a sentence the gate reports as an `error`
check, since the data gate names the details.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import from_arrow
from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from ..data.frames import split_batches


class DataProblem(Exception):
    """The test split cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class Chunk:
    """Consecutive rows of the test split: `start` is the first one's index in the whole split."""

    start: int
    columns: dict[str, npt.NDArray[Any]]
    """The columns asked for, raw."""

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values())))


def read_chunks(loaded: LoadedSpec, columns: Sequence[str]) -> Iterator[Chunk]:
    """The split's rows batch by batch (about `BATCH_ROWS` rows of one part), `columns` (schema
    columns) converted to raw values; DataProblem once the split is read if it is not readable
    (every schema column is read and type-checked, as the data gate does, though only `columns`
    are converted)."""
    spec = loaded.spec
    rules = [spec.data.columns[name].rule(name) for name in columns]
    try:
        for start, batch in split_batches(loaded, spec.data.test):
            if batch.num_rows:
                yield Chunk(start, from_arrow(batch, rules))
    except MlopsError as error:
        raise DataProblem(f"{error} (see the data gate)") from None


@dataclass
class Targets:
    """The target of every row, gathered chunk by chunk and checked at the end as one column:
    numbers as float64, text as codes into the values in the order first seen (-1: null)."""

    loaded: LoadedSpec
    _parts: list[npt.NDArray[Any]] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)

    def add(self, raw: npt.NDArray[Any]) -> None:
        if raw.dtype != object:
            self._parts.append(np.asarray(raw, dtype=np.float64))
            return
        codes = [-1 if value is None else self._seen.setdefault(str(value), len(self._seen))
                 for value in raw.tolist()]
        self._parts.append(np.asarray(codes, dtype=np.int64))

    def finish(self) -> tuple[npt.NDArray[Any], list[str]]:
        """(targets, class names): floats for regression, class indices for classifiers;
        DataProblem when a row has no target or a class does not fit."""
        spec = self.loaded.spec
        relative = spec.data.test
        text = spec.data.columns[spec.data.target].rule(spec.data.target).text
        raw: npt.NDArray[Any] = (np.concatenate(self._parts) if self._parts
                                 else np.empty(0, np.int64 if text else np.float64))
        if not len(raw):
            raise DataProblem(f"{relative} has no rows")
        missing = raw < 0 if text else np.isnan(raw)
        if missing.any():
            raise DataProblem(f"{relative} has rows without a target ({spec.data.target}); the "
                              "model gate needs a label for every test row")
        if spec.model.task == "regression":
            return raw.astype(np.float64), []
        labels = spec.model.labels
        if text:
            return _text_classes(raw, list(self._seen), labels, relative)
        return _integer_classes(raw, labels, relative)


def _integer_classes(raw: npt.NDArray[Any], labels: list[str] | None, relative: str
                     ) -> tuple[npt.NDArray[np.int64], list[str]]:  # fmt: skip
    """Integer targets are already output indices."""
    if not (raw % 1 == 0).all():
        raise DataProblem(f"{relative} has non-integer class labels; expected 0..n_classes-1 "
                          "or text labels")
    target = raw.astype(np.int64)
    if target.min() < 0:
        raise DataProblem(f"{relative} has negative class labels; expected 0..n_classes-1")
    count = max(int(target.max()) + 1, len(labels or []))
    return target, list(labels) if labels else [str(i) for i in range(count)]


def _text_classes(codes: npt.NDArray[Any], seen: list[str], labels: list[str] | None,
                  relative: str) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Text targets map through model.labels (or, without labels, sorted order, as scikit-learn
    assigns classes)."""
    names = list(labels) if labels else sorted(seen)
    unknown = sorted(set(seen) - set(names))
    if unknown:
        raise DataProblem(f"{relative} has target values {', '.join(unknown[:5])} not in model.labels")
    lookup = {name: index for index, name in enumerate(names)}
    remap = np.asarray([lookup[value] for value in seen], dtype=np.int64)
    return remap[codes], names
