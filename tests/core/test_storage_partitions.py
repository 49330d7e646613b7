"""Hive partition keys as `core.storage.resolve` reads them from the files' paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import MlopsError
from mlops.core.storage import partitions, resolve


def _touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n1\n")


def test_a_folders_files_carry_the_keys_of_their_path_below_it(tmp_path: Path) -> None:
    _touch(tmp_path, "sales/dt=2026-11-01/country=DE/part-0.csv",
           "sales/dt=2026-11-01/country=C%C3%B4te%20d%27Ivoire/part-0.csv",
           "sales/dt=2026-11-02/country=__HIVE_DEFAULT_PARTITION__/raw/part-0.csv")
    found = {file.display: file.partitions for file in resolve("sales", tmp_path)}
    assert found == {
        "sales/dt=2026-11-01/country=C%C3%B4te%20d%27Ivoire/part-0.csv":
            (("dt", "2026-11-01"), ("country", "Côte d'Ivoire")),
        "sales/dt=2026-11-01/country=DE/part-0.csv": (("dt", "2026-11-01"), ("country", "DE")),
        "sales/dt=2026-11-02/country=__HIVE_DEFAULT_PARTITION__/raw/part-0.csv":
            (("dt", "2026-11-02"), ("country", None)),
    }


def test_keys_count_below_a_globs_fixed_folder_and_a_single_file_has_none(
        tmp_path: Path) -> None:
    _touch(tmp_path, "lake/team=a/sales/dt=1/part-0.csv")
    [globbed] = resolve("lake/team=a/*/dt=*/*.csv", tmp_path)
    assert globbed.partitions == (("dt", "1"),)  # team=a is above the pattern: the dataset's root
    [single] = resolve("lake/team=a/sales/dt=1/part-0.csv", tmp_path)
    assert single.partitions == ()


def test_a_key_twice_in_one_path_is_refused() -> None:
    with pytest.raises(MlopsError) as raised:
        partitions("/d/dt=1/dt=2/part-0.csv", "/d", "d/dt=1/dt=2/part-0.csv")
    assert str(raised.value) == "d/dt=1/dt=2/part-0.csv: partition key 'dt' appears twice in the path"
