"""Profiling a file in one streaming pass: kinds from CSV text, Parquet types, nulls, ranges,
distinct values, first offenders; the same profile however the file is cut into parts; and
dtypes the data gate's own reader then reads without a problem."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops.core.errors import MlopsError
from mlops.harness.data import datasets
from mlops.harness.data.datasets import Dataset
from mlops.harness.init.facts import column_facts
from mlops.harness.init.profile import MAX_ALLOWED, join
from mlops.harness.init.profiling import profile_file

TRICKY = (
    "i,f,whole,flag,text,empty,infinite,spaced\n"
    "1,1.5,1.0,true,a,,1,+3\n"
    " 2,2,2.0,False,1,,inf, 4\n"
    "-4,1e3,3.0,TRUE,b,,-2.5,5\n"
    ",,,,,,,\n"
)


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_kinds_bounds_and_first_offenders_from_csv_text(tmp_path: Path) -> None:
    profile = profile_file(write(tmp_path, TRICKY), "data.csv", "csv")
    columns = profile.columns
    assert profile.rows == 4
    assert {name: column.kind for name, column in columns.items()} == {
        "i": "int", "f": "float", "whole": "float", "flag": "bool", "text": "str", "empty": "null",
        "infinite": "float", "spaced": "float"}
    assert (columns["i"].low, columns["i"].high, columns["i"].nulls.count) == (-4, 2, 1)
    assert isinstance(columns["i"].low, int) and columns["i"].nulls.first_row == 4
    assert (columns["f"].low, columns["f"].high) == (1.5, 1000.0)
    assert (columns["whole"].not_integer.row, columns["whole"].not_integer.value) == (1, "1.0")
    assert (columns["text"].not_number.row, columns["text"].not_number.value) == (1, "a")
    assert columns["text"].counts == {"a": 1, "1": 1, "b": 1}
    infinite = columns["infinite"]
    assert (infinite.low, infinite.high, infinite.infinite_high, infinite.infinite_low) == (
        -2.5, 1.0, True, False)
    # spaces around an integer are fine, a '+' sign is not: the data gate cannot read it as int
    assert (columns["spaced"].low, columns["spaced"].high, columns["spaced"].not_integer.row) == (
        3, 5, 1)
    assert profile_file(write(tmp_path, "n\n 4\n5 \n", "spaced.csv"), "spaced.csv",
                        "csv").columns["n"].kind == "int"
    assert profile.where(4) == "data.csv:5"


def test_inferred_dtypes_are_read_by_the_data_gate_without_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, TRICKY)
    profile = profile_file(path, "data.csv", "csv")
    dtypes = {name: column.kind for name, column in profile.columns.items() if column.kind != "null"}
    dataset = Dataset(path, "data.csv", "csv", dtypes)  # type: ignore[arg-type]
    assert sum(batch.num_rows for batch in dataset.batches()) == 4
    assert dataset.problems == {}


def test_the_profile_is_the_same_however_the_file_is_cut(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Early parts see integers, later ones fractions, nulls and text: kinds join, offenders keep
    their row in the file."""
    rows = ["n,late_text,sometimes"]
    rows += [f"{i},{i},{i % 3}" for i in range(300)]
    rows += [f"{i}.5,x{i},{'' if i % 2 else 'v'}" for i in range(300, 400)]
    path = write(tmp_path, "\n".join(rows) + "\n")
    whole = profile_file(path, "data.csv", "csv")
    monkeypatch.setattr(datasets, "PART_BYTES", 256)
    parts = Dataset(path, "data.csv", "csv", {}).parts()
    assert len(parts) > 10
    cut = profile_file(path, "data.csv", "csv")
    assert cut == whole
    assert whole.columns["n"].kind == "float" and whole.columns["n"].not_integer.row == 301
    assert whole.columns["late_text"].kind == "str"
    assert whole.columns["late_text"].not_number.value == "x300"
    assert whole.columns["sometimes"].kind == "str"
    assert whole.columns["sometimes"].nulls.first_row == 302


def test_distinct_values_are_kept_up_to_the_cardinality_limit(tmp_path: Path) -> None:
    few = [str(i % MAX_ALLOWED) for i in range(200)]
    many = [str(i % (MAX_ALLOWED + 1)) for i in range(200)]
    path = write(tmp_path, "few,many\n" + "".join(f"{a},{b}\n" for a, b in zip(few, many, strict=True)))
    columns = profile_file(path, "data.csv", "csv").columns
    assert columns["few"].counts is not None and len(columns["few"].counts) == MAX_ALLOWED
    assert columns["many"].counts is None


def test_parquet_columns_keep_their_declared_types(tmp_path: Path) -> None:
    table = pa.table({
        "f": pa.array([1.0, None, 3.0]), "i": pa.array([1, 2, 3], pa.int32()),
        "b": pa.array([True, False, None]), "s": pa.array(["a", "b", None]),
        "d": pa.array(["x", "y", "x"]).dictionary_encode(),
        "t": pa.array([0, 1, 2], pa.timestamp("s")),
    })
    pq.write_table(table, tmp_path / "data.parquet")
    profile = profile_file(tmp_path / "data.parquet", "data.parquet", "parquet")
    assert {name: column.kind for name, column in profile.columns.items()} == {
        "f": "float", "i": "int", "b": "bool", "s": "str", "d": "str", "t": "other"}
    assert profile.declared["t"] == "timestamp[ms]"
    assert profile.columns["d"].counts == {"x": 2, "y": 1}
    assert (profile.columns["i"].low, profile.columns["i"].high) == (1, 3)
    assert profile.where(3) == "data.parquet row 3"


def test_facts_join_the_files(tmp_path: Path) -> None:
    train = profile_file(write(tmp_path, "a,b\n1,x\n2,y\n", "train.csv"), "train.csv", "csv")
    test = profile_file(write(tmp_path, "a,b\n2.5,\n3,z\n", "test.csv"), "test.csv", "csv")
    a, b = column_facts("a", [train, test]), column_facts("b", [train, test])
    assert (a.kind, a.low, a.high, a.not_integer) == ("float", 1, 3, a.not_integer)
    assert a.not_integer is not None and a.not_integer.describe() == "'2.5' at test.csv:2"
    assert (b.kind, b.nullable, b.first_null, b.counts) == ("str", True, "test.csv:2",
                                                           {"x": 1, "y": 1, "z": 1})


def test_kinds_join_on_a_lattice() -> None:
    assert join("int", "float") == "float"
    assert join("null", "bool") == "bool"
    assert join("bool", "int") == "str"
    assert join("float", "str") == "str"
    assert join("str", "other") == "other"


@pytest.mark.parametrize(("text", "message"), [
    ("", "data.csv: the file is empty; expected a header row"),
    ("a,b\n", "data.csv: no rows below the header"),
    ("a,b,a\n1,2,3\n", "data.csv:1: column 'a' appears 2 times in the header; every column needs "
                       "its own name"),
    ("a,b\n1,2\n3\n4,5\n", "data.csv:3: 1 row(s) with 1 fields where the header has 2, the first: '3'"),
])
def test_unreadable_files_are_located(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MlopsError) as raised:
        profile_file(write(tmp_path, text), "data.csv", "csv")
    assert str(raised.value) == message
