"""Data locations on the local disk: a file, a folder (bookkeeping files left out), a glob, a
Hive-partitioned folder; nothing there is a located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import MlopsError
from mlops.core.storage import resolve


def _touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n1\n")


def test_a_hive_folder_lists_its_data_files_in_path_order(tmp_path: Path) -> None:
    _touch(tmp_path, "train/dt=2026-11-02/part-0.parquet", "train/dt=2026-11-01/part-1.parquet",
           "train/dt=2026-11-01/part-0.parquet", "train/_SUCCESS", "train/.part-0.parquet.crc",
           "train/_temporary/part-9.parquet")
    assert [f.display for f in resolve("train", tmp_path)] == [
        "train/dt=2026-11-01/part-0.parquet", "train/dt=2026-11-01/part-1.parquet",
        "train/dt=2026-11-02/part-0.parquet"]


def test_a_file_and_a_glob(tmp_path: Path) -> None:
    _touch(tmp_path, "data/a.csv", "data/b.csv", "data/c.txt", "data/sub/d.csv")
    assert [f.display for f in resolve("data/a.csv", tmp_path)] == ["data/a.csv"]
    assert [f.display for f in resolve("data/*.csv", tmp_path)] == ["data/a.csv", "data/b.csv"]
    assert [f.size for f in resolve("data/*.csv", tmp_path)] == [4, 4]


@pytest.mark.parametrize(("location", "message"), [
    ("nothing", "nothing: file not found"),
    ("empty", "empty: the folder holds no data files"),
    ("data/*.parquet", "data/*.parquet: no file matches the pattern"),
])
def test_nothing_there_is_named(tmp_path: Path, location: str, message: str) -> None:
    _touch(tmp_path, "data/a.csv", "empty/_SUCCESS")
    with pytest.raises(MlopsError) as error:
        resolve(location, tmp_path)
    assert str(error.value) == message
