"""The test split as the model and benchmark gates need it: every schema column as raw values
(strings as text, nulls kept; see `mlops.core.columns`), the target as class indices (or floats).

The test split is small enough to hold in memory (it is evaluated as a whole); it is read with the
data gate's typed reader. Problems become `DataProblem`s with a sentence the gate reports as an
`error` check, since the data gate names the details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import from_arrow, null_mask, take
from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from ..data.frames import read_split


class DataProblem(Exception):
    """The test split cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class TestSet:
    columns: dict[str, npt.NDArray[Any]]
    """Every schema column, raw."""
    features: dict[str, npt.NDArray[Any]]
    """The model's input columns, raw, in schema order."""
    target: npt.NDArray[Any]
    class_names: list[str]

    @property
    def rows(self) -> int:
        return len(self.target)

    def subset(self, mask: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[Any]]:
        """The feature columns of the rows in `mask`."""
        return take(self.features, mask)


def load_test_set(loaded: LoadedSpec) -> TestSet:
    spec = loaded.spec
    relative = spec.data.test  # a file, folder, glob or URI: read_split reads any of them
    try:
        table = read_split(loaded, relative)
    except MlopsError as error:
        raise DataProblem(f"{error} (see the data gate)") from None
    if table.num_rows == 0:
        raise DataProblem(f"{relative} has no rows")
    rules = [column.rule(name) for name, column in spec.data.columns.items()]
    columns = from_arrow(table, rules)
    raw = columns[spec.data.target]
    if null_mask(raw).any():
        raise DataProblem(f"{relative} has rows without a target ({spec.data.target}); the model "
                          "gate needs a label for every test row")
    features = {name: columns[name] for name in spec.data.features}
    if spec.model.task == "regression":
        return TestSet(columns, features, raw.astype(np.float64), [])
    target, names = _class_indices(raw, spec.model.labels, relative)
    return TestSet(columns, features, target, names)


def _class_indices(
    raw: npt.NDArray[Any], labels: list[str] | None, relative: str
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Integer targets are already output indices; text targets map through model.labels
    (or, without labels, sorted order, as scikit-learn assigns classes)."""
    if raw.dtype != object:
        if not (raw % 1 == 0).all():
            raise DataProblem(f"{relative} has non-integer class labels; expected 0..n_classes-1 "
                              "or text labels")
        target = raw.astype(np.int64)
        if target.min() < 0:
            raise DataProblem(f"{relative} has negative class labels; expected 0..n_classes-1")
        count = max(int(target.max()) + 1, len(labels or []))
        return target, list(labels) if labels else [str(i) for i in range(count)]
    text = [str(value) for value in raw.tolist()]
    names = list(labels) if labels else sorted(set(text))
    unknown = sorted(set(text) - set(names))
    if unknown:
        raise DataProblem(f"{relative} has target values {', '.join(unknown[:5])} not in model.labels")
    lookup = {name: index for index, name in enumerate(names)}
    return np.array([lookup[value] for value in text], dtype=np.int64), names
