"""The test split as the model and benchmark gates need it: a float32 matrix in schema order,
the targets as class indices (or floats), and every schema column for slices and group gaps.

The test split is small enough to hold in memory (it is evaluated as a whole); the data gate's
streaming reader is for the large files. Problems become `DataProblem`s with a sentence the gate
reports as an `error` check, since the data gate names the details.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from mlops.spec.loader import LoadedSpec


class DataProblem(Exception):
    """The test split cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class TestSet:
    features: npt.NDArray[np.float32]
    target: npt.NDArray[np.generic]
    columns: dict[str, npt.NDArray[np.generic]]
    class_names: list[str]


def load_test_set(loaded: LoadedSpec) -> TestSet:
    spec = loaded.spec
    relative = spec.data.test
    path = loaded.resolve(relative)
    if not path.is_file():
        raise DataProblem(f"test split {relative} not found")
    try:
        table = pa_parquet.read_table(path) if spec.data.format == "parquet" else pa_csv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataProblem(f"cannot read {relative}: {error}") from None
    wanted = [*spec.data.features, spec.data.target]
    absent = [name for name in wanted if name not in table.column_names]
    if absent:
        raise DataProblem(f"{relative} lacks column(s) {', '.join(absent)} (see the data gate)")
    if table.num_rows == 0:
        raise DataProblem(f"{relative} has no rows")
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    matrix = np.empty((table.num_rows, len(spec.data.features)), dtype=np.float32)
    for index, name in enumerate(spec.data.features):
        try:
            matrix[:, index] = columns[name].astype(np.float32)
        except (TypeError, ValueError):
            raise DataProblem(f"column {name} of {relative} is not numeric") from None
    if not np.isfinite(matrix).all():
        bad = [n for i, n in enumerate(spec.data.features) if not np.isfinite(matrix[:, i]).all()]
        raise DataProblem(f"{relative} has missing or infinite values in {', '.join(bad)}")
    raw = columns[spec.data.target]
    if spec.model.task == "regression":
        return TestSet(matrix, raw.astype(np.float64), columns, [])
    target, names = _class_indices(raw, spec.model.labels, relative)
    return TestSet(matrix, target, columns, names)


def _class_indices(
    raw: npt.NDArray[np.generic], labels: list[str] | None, relative: str
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Integer targets are already output indices; text targets map through model.labels
    (or, without labels, sorted order, as scikit-learn assigns classes)."""
    if np.issubdtype(raw.dtype, np.floating) and np.isfinite(raw).all() and (raw % 1 == 0).all():
        raw = raw.astype(np.int64)
    if np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.bool_):
        target = raw.astype(np.int64)
        if target.min() < 0:
            raise DataProblem(f"{relative} has negative class labels; expected 0..n_classes-1")
        count = max(int(target.max()) + 1, len(labels or []))
        return target, list(labels) if labels else [str(i) for i in range(count)]
    text = raw.astype(str)
    names = list(labels) if labels else sorted(set(text.tolist()))
    unknown = sorted(set(text.tolist()) - set(names))
    if unknown:
        raise DataProblem(f"{relative} has target values {', '.join(unknown[:5])} not in model.labels")
    lookup = {name: index for index, name in enumerate(names)}
    return np.array([lookup[value] for value in text.tolist()], dtype=np.int64), names
