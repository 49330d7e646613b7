"""Hive partition keys as columns of a many-file dataset (`fileset.FileSet`): typed by the spec's
schema when it declares them, as text when a reader asks for one by name, and located errors for a
key the files disagree on or a value that does not fit its dtype."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from mlops.core.errors import MlopsError
from mlops.harness.data import datasets
from mlops.harness.data.datasets import FileFormat
from mlops.harness.data.fileset import FileSet
from mlops.spec.models import ColumnType

FOLDERS = ("dt=20261101/country=DE", "dt=20261101/country=FR", "dt=20261102/country=DE")


def _write(root: Path, relative: str, table: pa.Table, file_format: FileFormat) -> None:
    path = root / f"{relative}.{file_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "parquet":
        pq.write_table(table, path, row_group_size=1)
    else:
        pcsv.write_csv(table, path)


def _sales(root: Path, file_format: FileFormat) -> None:
    for index, folder in enumerate(FOLDERS):
        table = pa.table({"amount": [10.0 * index, 10.0 * index + 1], "id": [2 * index, 2 * index + 1]})
        _write(root, f"sales/{folder}/part-0", table, file_format)


def _read(root: Path, file_format: FileFormat, expected: dict[str, ColumnType],
          columns: list[str] | None = None) -> tuple[FileSet, dict[str, list[object]]]:
    dataset = FileSet.open("sales", root, file_format, expected)
    table = pa.Table.from_batches([batch.data for batch in dataset.batches(columns)])
    return dataset, table.to_pydict()


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_declared_keys_are_typed_columns_of_every_row(tmp_path: Path, file_format: FileFormat,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "PART_ROWS", 1)  # one part per row: a CSV part past the header
    monkeypatch.setattr(datasets, "PART_BYTES", 8)
    _sales(tmp_path, file_format)
    dataset, rows = _read(tmp_path, file_format,
                          {"amount": "float", "dt": "int", "country": "category"})
    assert dataset.header == ["amount", "id", "dt", "country"]
    assert len(dataset.parts()) == 6
    assert rows == {"amount": [0.0, 1.0, 10.0, 11.0, 20.0, 21.0],
                    "dt": [20261101] * 4 + [20261102] * 2,
                    "country": ["DE", "DE", "FR", "FR", "DE", "DE"]}


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_an_undeclared_key_is_no_column_until_asked_for_by_name(tmp_path: Path,
                                                                 file_format: FileFormat) -> None:
    _sales(tmp_path, file_format)
    dataset, rows = _read(tmp_path, file_format, {"amount": "float"})
    assert dataset.header == ["amount", "id"]  # the schema check and drift never see dt
    assert dataset.available == ["amount", "id", "dt", "country"]
    assert rows == {"amount": [0.0, 1.0, 10.0, 11.0, 20.0, 21.0]}
    _, asked = _read(tmp_path, file_format, {"amount": "float"}, ["dt", "id"])
    assert asked == {"dt": ["20261101"] * 4 + ["20261102"] * 2, "id": [0, 1, 2, 3, 4, 5]}
    _, only = _read(tmp_path, file_format, {}, ["country"])  # no stored column read at all
    assert only == {"country": ["DE", "DE", "FR", "FR", "DE", "DE"]}


def test_a_value_that_does_not_fit_its_dtype_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path, "sales/dt=2026-11-01/part-0", pa.table({"amount": [1.0]}), "parquet")
    with pytest.raises(MlopsError) as raised:
        FileSet.open("sales", tmp_path, "parquet", {"amount": "float", "dt": "int"})
    assert str(raised.value) == ("sales/dt=2026-11-01/part-0.parquet: partition key 'dt' "
                                 "expected int (data.schema.dt), found '2026-11-01' in the path")


def test_a_file_without_a_declared_key_in_its_path_is_named(tmp_path: Path) -> None:
    _sales(tmp_path, "parquet")
    _write(tmp_path, "sales/dt=20261102/late", pa.table({"amount": [1.0], "id": [9]}), "parquet")
    with pytest.raises(MlopsError) as raised:
        FileSet.open("sales", tmp_path, "parquet", {"amount": "float", "country": "str"})
    assert str(raised.value) == (
        "sales/dt=20261102/late.parquet: no partition key 'country' in its path "
        "(sales/dt=20261101/country=DE/part-0.parquet has country=DE)")


def test_a_file_without_a_key_asked_for_by_name_is_named(tmp_path: Path) -> None:
    _sales(tmp_path, "csv")
    _write(tmp_path, "sales/dt=20261102/late", pa.table({"amount": [1.0], "id": [9]}), "csv")
    dataset = FileSet.open("sales", tmp_path, "csv", {"amount": "float"})
    with pytest.raises(MlopsError) as raised:
        dataset.parts(["country", "amount"])
    assert str(raised.value) == (
        "sales/dt=20261102/late.csv: no partition key 'country' in its path "
        "(sales/dt=20261101/country=DE/part-0.csv has country=DE)")


def test_a_column_both_in_the_file_and_in_the_path_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "sales/country=DE/part-0", pa.table({"country": ["FR"]}), "csv")
    with pytest.raises(MlopsError) as raised:
        FileSet.open("sales", tmp_path, "csv", {})
    assert str(raised.value) == (
        "sales/country=DE/part-0.csv: column 'country' is both in the file and a partition key "
        "of its path (country=DE); rename one of them")
