"""The streaming reader: same data as a whole-file read, typed by the spec, located problems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from mlops.core.errors import MlopsError
from mlops.harness.data import datasets
from mlops.harness.data.datasets import Dataset

TYPES = {"x": "float", "n": "int", "flag": "bool", "colour": "category"}


def _write(path: Path, rows: int, bad: dict[int, tuple[str, str]] | None = None) -> None:
    rng = np.random.default_rng(0)
    lines = ["x,n,flag,colour,extra"]
    for i in range(rows):
        cells = {"x": f"{rng.normal():.6f}", "n": str(i), "flag": "true" if i % 3 else "false",
                 "colour": ["red", "green", "blue"][i % 3]}
        if bad and i in bad:
            column, value = bad[i]
            cells[column] = value
        lines.append(",".join([cells["x"], cells["n"], cells["flag"], cells["colour"], "e"]))
    path.write_text("\n".join(lines) + "\n")


def _read_all(dataset: Dataset) -> pa.Table:
    batches = list(dataset.batches())
    assert [b.start for b in batches] == list(np.cumsum([0] + [b.num_rows for b in batches[:-1]]))
    return pa.Table.from_batches([b.data for b in batches])


def test_streaming_equals_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.csv"
    _write(path, 5000)
    whole = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
        column_types={"x": pa.float64(), "n": pa.int64(), "flag": pa.bool_(),
                      "colour": pa.string()}, include_columns=list(TYPES)))
    monkeypatch.setattr(datasets, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(datasets, "BATCH_ROWS", 500)
    dataset = Dataset(path, "d.csv", "csv", TYPES)
    assert dataset.header == ["x", "n", "flag", "colour", "extra"]
    batches = list(dataset.batches())
    assert len(batches) > 5 and all(b.num_rows >= 500 for b in batches[:-1])
    assert pa.Table.from_batches([b.data for b in batches]).equals(whole)
    assert dataset.problems == {}


@pytest.mark.parametrize("block", [4096, datasets.BLOCK_BYTES])
def test_bad_value_in_a_later_block_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               block: int) -> None:
    path = tmp_path / "d.csv"
    _write(path, 5000, {2999: ("x", "abc"), 4000: ("x", "n/a?"), 3500: ("n", "1.5")})
    clean = tmp_path / "clean.csv"
    _write(clean, 5000)
    monkeypatch.setattr(datasets, "BLOCK_BYTES", block)
    monkeypatch.setattr(datasets, "BATCH_ROWS", 700)
    dataset = Dataset(path, "data/d.csv", "csv", TYPES)
    table = _read_all(dataset)
    assert table.num_rows == 5000
    assert sorted(p.describe(dataset.display) for p in dataset.problems.values()) == [
        "data/d.csv: column 'n' expected int, found non-integer '1.5' at row 3501 (1 value)",
        "data/d.csv: column 'x' expected float, found text 'abc' at row 3000 (2 values)",
    ]
    expected = _read_all(Dataset(clean, "clean.csv", "csv", TYPES))
    x, want = table.column("x").to_pylist(), expected.column("x").to_pylist()
    assert x[2999] is None and x[4000] is None
    assert x[:2999] == want[:2999] and x[3000:4000] == want[3000:4000]
    assert x[4001:] == want[4001:]
    assert table.column("n").to_pylist()[3500] is None
    assert table.column("colour").equals(expected.column("colour"))


def test_parts_cut_at_line_ends_read_like_the_whole_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.csv"
    _write(path, 5000, {10: ("x", "abc"), 2999: ("x", "def"), 4000: ("n", "1.5")})
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:3001], "1.0,2\n", *lines[3001:]]))
    whole = Dataset(path, "d.csv", "csv", TYPES)
    expected = _read_all(whole)
    monkeypatch.setattr(datasets, "PART_BYTES", 10_000)
    split = Dataset(path, "d.csv", "csv", TYPES)
    parts = split.parts()
    assert len(parts) > 10
    assert _read_all(split).equals(expected)
    assert split.problems == whole.problems
    assert split.problems["x"].describe("d.csv") == (
        "d.csv: column 'x' expected float, found text 'abc' at row 11 (2 values)")
    assert split.malformed == whole.malformed and split.malformed.count == 1
    assert split.malformed.first_text == "1.0,2"


def test_parts_read_in_any_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.csv"
    _write(path, 3000, {2500: ("x", "abc")})
    monkeypatch.setattr(datasets, "PART_BYTES", 20_000)
    dataset = Dataset(path, "d.csv", "csv", TYPES)
    parts = dataset.parts()
    batches = {part.index: list(part.batches()) for part in reversed(parts)}
    dataset.collect(parts)
    assert dataset.problems["x"].first_row == 2501
    keys = np.concatenate([b.row_keys() for i in sorted(batches) for b in batches[i]])
    assert keys.size == 3000 and np.all(np.diff(keys.astype(np.int64)) > 0)
    assert sum(part.rows for part in parts) == 3000


def test_text_where_a_bool_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    _write(path, 10, {4: ("flag", "maybe")})
    dataset = Dataset(path, "d.csv", "csv", TYPES)
    table = _read_all(dataset)
    assert dataset.problems["flag"].describe("d.csv") == (
        "d.csv: column 'flag' expected bool, found text 'maybe' at row 5 (1 value)")
    assert table.column("flag").to_pylist()[:6] == [False, True, True, False, None, True]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(MlopsError) as missing:
        Dataset(tmp_path / "nope.csv", "data/nope.csv", "csv", TYPES)
    assert str(missing.value) == "data/nope.csv: file not found"
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MlopsError) as empty:
        Dataset(tmp_path / "empty.csv", "data/empty.csv", "csv", TYPES)
    assert str(empty.value) == "data/empty.csv: the file is empty; expected a header row"
    with pytest.raises(MlopsError) as folder:
        Dataset(tmp_path, "data", "csv", TYPES)
    assert str(folder.value) == "data: not a file"


def test_malformed_rows_are_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("x,n\n1.0,1\n2.0\n3.0,3\n")
    dataset = Dataset(path, "d.csv", "csv", {"x": "float", "n": "int"})
    assert _read_all(dataset).num_rows == 2
    assert (dataset.malformed.count, dataset.malformed.first_text) == (1, "2.0")


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    path.write_text("x,n\n1,2\n")
    with pytest.raises(MlopsError) as error:
        Dataset(path, "data/d.parquet", "parquet", TYPES)
    assert str(error.value).startswith("data/d.parquet: cannot read as PARQUET: ")


@pytest.mark.parametrize(("content", "message"), [
    (None, "data/d.csv: cannot read as CSV: it is a Parquet file (set data.format: parquet)"),
    ("x,n\n1,2\n".encode("utf-16"), "data/d.csv: cannot read as CSV: it is not UTF-8 text (a "
                                     "binary file, or another encoding such as UTF-16)"),
])
def test_a_binary_file_given_as_csv_is_named(tmp_path: Path, content: bytes | None,
                                             message: str, capfd: pytest.CaptureFixture[str]) -> None:
    """Named before pyarrow's CSV reader meets rows it cannot decode (it then printed an ignored
    UnicodeDecodeError's traceback)."""
    path = tmp_path / "d.csv"
    if content is None:
        pq.write_table(pa.table({"x": [1.5], "n": [2]}), path)
    else:
        path.write_bytes(content)
    with pytest.raises(MlopsError) as error:
        Dataset(path, "data/d.csv", "csv", TYPES)
    assert str(error.value) == message
    assert "Traceback" not in capfd.readouterr().err


def test_parquet_batches_and_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.parquet"
    rows = 200_000
    table = pa.table({"x": np.arange(rows, dtype=np.float32), "n": np.arange(rows, dtype=np.int32),
                      "flag": pa.array([True] * rows), "colour": pa.array(["a"] * rows).dictionary_encode()})
    pq.write_table(table, path)
    dataset = Dataset(path, "d.parquet", "parquet", TYPES)
    read = _read_all(dataset)
    assert read.schema.types == [pa.float64(), pa.int64(), pa.bool_(), pa.string()]
    assert read.column("n").to_pylist() == list(range(rows))
    assert dataset.problems == {}
    monkeypatch.setattr(datasets, "PART_ROWS", 1)
    pq.write_table(table, path, row_group_size=30_000)
    grouped = Dataset(path, "d.parquet", "parquet", TYPES)
    assert len(grouped.parts()) == 7
    assert _read_all(grouped).equals(read)
    wrong = Dataset(path, "d.parquet", "parquet", {"x": "int", "colour": "float"})
    assert _read_all(wrong).num_columns == 0
    assert [p.describe("d.parquet") for p in wrong.problems.values()] == [
        "d.parquet: column 'x' expected int, found parquet type float",
        "d.parquet: column 'colour' expected float, found parquet type dictionary<values=string, "
        "indices=int32, ordered=0>",
    ]
