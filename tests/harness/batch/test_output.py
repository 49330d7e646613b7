"""The output folder of `mlops predict`: all or nothing, never over an earlier run."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from mlops.core.errors import MlopsError
from mlops.harness.batch.output import OutputFolder


def folder(path: Path, run: str = "r1") -> OutputFolder:
    return OutputFolder(pafs.LocalFileSystem(), str(path), "out", run)


def test_parts_appear_only_when_the_run_commits(tmp_path: Path) -> None:
    out = folder(tmp_path / "out")
    out.refuse_existing()
    names = [out.write_part(index, pa.table({"x": [index]})) for index in (0, 1)]
    assert not list((tmp_path / "out").glob("part-*"))  # staged under _temporary/r1 until now
    out.commit(names, {"rows": 2})
    found = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert found == ["_SUCCESS", "part-00000.parquet", "part-00001.parquet"]
    assert json.loads((tmp_path / "out" / "_SUCCESS").read_text()) == {"rows": 2}
    assert pq.read_table(tmp_path / "out" / "part-00001.parquet").to_pydict() == {"x": [1]}


def test_a_failed_run_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".keep").write_text("")
    out = folder(tmp_path / "out")
    out.refuse_existing()  # hidden files are not predictions
    out.write_part(0, pa.table({"x": [0]}))
    out.discard()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".keep"]


@pytest.mark.parametrize("existing", ["part-00000.parquet", "_SUCCESS"])
def test_an_earlier_run_is_never_written_over(tmp_path: Path, existing: str) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / existing).write_text("earlier")
    with pytest.raises(MlopsError) as raised:
        folder(tmp_path / "out").refuse_existing()
    count = 0 if existing == "_SUCCESS" else 1
    assert str(raised.value) == (
        f"out: the output folder already holds predictions ({count} data file"
        f"{'s' if count != 1 else ''}, e.g. {existing}); choose an empty or new folder")


def test_only_the_named_columns_are_dictionary_encoded(tmp_path: Path) -> None:
    out = folder(tmp_path / "out")
    table = pa.table({"id": list(range(100)), "score": [i / 100 for i in range(100)],
                      "label": ["a", "b"] * 50})
    name = out.write_part(0, table, dictionary=("label", "model_version"))  # absent: skipped
    out.commit([name], {"rows": 100})
    group = pq.ParquetFile(tmp_path / "out" / name).metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: "RLE_DICTIONARY" in group.column(i).encodings
                 for i in range(group.num_columns)}
    assert encodings == {"id": False, "score": False, "label": True}
    assert pq.read_table(tmp_path / "out" / name).equals(table)
