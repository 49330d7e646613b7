"""Reading the request log window: rotated files in both formats, corrupt lines counted, not fatal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mlops.harness.monitor.requestlog import read_window
from tests.monitor.monitor_helpers import NOW, data_rows, records, write_jsonl

FEATURES = ["mean_radius", "mean_texture"]


def _read(folder: Path, wanted: frozenset[tuple[str, int]] = frozenset()):  # type: ignore[no-untyped-def]
    return read_window(folder, NOW - 3600, NOW, "breast-cancer", FEATURES, [], wanted)


def test_rotated_jsonl_and_parquet_files_are_all_read(tmp_path: Path) -> None:
    rows = data_rows("current.csv")
    write_jsonl(tmp_path / "requests-breast-cancer-1.jsonl", records(rows[:40], NOW - 100, "a"))
    write_jsonl(tmp_path / "requests-breast-cancer-2.jsonl", records(rows[40:80], NOW - 50, "b"))
    pq.write_table(pa.Table.from_pylist(records(rows[80:], NOW - 10, "c")),
                   tmp_path / "requests-breast-cancer-3.parquet")
    window = _read(tmp_path, frozenset({("a1", 0), ("c2", 0), ("zz", 0)}))
    assert (window.files, window.rows, window.corrupt) == (3, len(rows), 0)
    assert window.sample.column(0).tolist() == [r["mean_radius"] for r in rows]
    assert set(window.served) == {("a1", 0), ("c2", 0)}
    assert sum(window.predictions.values()) == len(rows)


def test_rows_outside_the_window_and_old_files_are_left_out(tmp_path: Path) -> None:
    rows = data_rows("current.csv")[:30]
    inside = records(rows[:10], NOW - 60)
    before, after = records(rows[10:20], NOW - 7200), records(rows[20:], NOW + 1)
    write_jsonl(tmp_path / "mixed.jsonl", inside + before + after)
    old = write_jsonl(tmp_path / "old.jsonl", records(rows, NOW - 60))
    os.utime(old, (NOW - 7200, NOW - 7200))  # last written before the window: not opened
    window = _read(tmp_path)
    assert (window.files, window.rows, window.outside) == (1, 10, 20)


def test_corrupt_lines_are_skipped_with_their_location(tmp_path: Path) -> None:
    good = records(data_rows("current.csv")[:5], NOW - 60)
    no_feature = {k: v for k, v in good[0].items() if k != "mean_texture"}
    text_feature = {**good[0], "mean_radius": "big"}
    write_jsonl(tmp_path / "requests.jsonl", good, [
        '{"timestamp": 1, "trunc', "[1, 2]", '{"timestamp": "yesterday"}',
        json.dumps(no_feature), json.dumps(text_feature)])
    window = _read(tmp_path)
    assert (window.rows, window.corrupt) == (5, 5)
    assert [str(p) for p in window.problems] == [
        "requests.jsonl:6: not JSON (unexpected end of data)",
        "requests.jsonl:7: expected an object, got list",
        "requests.jsonl:8: 'timestamp' must be Unix seconds, got 'yesterday'",
        "requests.jsonl:9: feature 'mean_texture' missing",
        "requests.jsonl:10: feature 'mean_radius' not a number: 'big'",
    ]


def test_a_parquet_file_still_being_written_is_listed_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "requests-live.parquet").write_bytes(b"PAR1 no footer yet")
    write_jsonl(tmp_path / "requests.jsonl", records(data_rows("current.csv")[:3], NOW - 60))
    window = _read(tmp_path)
    assert window.rows == 3
    assert [p.where for p in window.unreadable] == ["requests-live.parquet"]
    assert "cannot read as Parquet (still being written, or truncated)" in window.unreadable[0].reason
