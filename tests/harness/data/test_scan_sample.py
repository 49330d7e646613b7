"""The drift sample of a many-part dataset: each part ships only its rows of the final sample
when the row counts are known (Parquet), and the merged sample is the one every part would give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops.harness.data import datasets, scan
from mlops.harness.data.fileset import FileSet
from mlops.harness.engine import open_engine
from mlops.spec.models import Data

TYPES = {"a": "float", "b": "float", "y": "int"}
DATA = Data.model_validate({"format": "parquet", "train": "t", "test": "t", "target": "y",
                            "schema": {name: {"dtype": dtype} for name, dtype in TYPES.items()}})


def _scan(folder: Path) -> scan.FileScan:
    dataset = FileSet.open(str(folder), folder, "parquet", TYPES)  # type: ignore[arg-type]
    with open_engine("local") as engine:
        return scan.FileScan(dataset, DATA, ["a", "b"], []).scan(engine)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    for index, rows in enumerate((60_000, 70_000)):
        pq.write_table(pa.table({"a": rng.normal(size=rows), "b": rng.normal(size=rows),
                                 "y": rng.integers(0, 2, rows)}),
                       tmp_path / f"part-{index}.parquet", row_group_size=10_000)
    return tmp_path


def test_bounded_parts_give_the_sample_of_unbounded_ones(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "PART_ROWS", 20_000)
    bounded = _scan(folder)
    assert scan.sample_bound(bounded.dataset.parts(bounded.columns)) is not None
    monkeypatch.setattr(scan, "sample_bound", lambda parts: None)
    unbounded = _scan(folder)
    assert bounded.sample is not None and unbounded.sample is not None
    assert (bounded.sample.seen, unbounded.sample.seen) == (130_000, 130_000)
    assert not bounded.sample.complete
    assert np.array_equal(bounded.sample.rows(), unbounded.sample.rows())


def test_a_part_larger_than_the_sample_counts_all_its_rows(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 130_000  # one part (PART_ROWS is 250,000), more rows than the sample holds
    pq.write_table(pa.table({"a": np.arange(rows, dtype=float), "b": np.zeros(rows),
                             "y": np.zeros(rows, dtype=np.int64)}), tmp_path / "one.parquet")
    monkeypatch.setattr(scan, "sample_bound", lambda parts: None)
    scanned = _scan(tmp_path)
    assert scanned.sample is not None
    assert (scanned.sample.seen, scanned.sample.complete, scanned.rows) == (130_000, False, 130_000)
