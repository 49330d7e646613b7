"""Datasets of many files, locally and in S3 (moto on loopback), through the data gate and the
monitor on both engines: the Ray engine gives exactly the local engine's checks, counts, samples
and drift scores; errors name the location or the file and the row."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from mlops.core import telemetry
from mlops.harness.data import datasets
from mlops.harness.data.gate import GATE
from mlops.harness.engine import open_engine
from mlops.harness.gate import GateOptions
from mlops.harness.monitor import run_monitor
from mlops.harness.result import GateResult
from mlops.spec.loader import load_spec
from mlops.spec.models import DataEngine
from tests.harness.conftest import BUCKET
from tests.monitor.monitor_helpers import (
    MLOPS,
    NOW,
    config,
    data_rows,
    records,
    root_spec,
    shifted,
    write_jsonl,
)
from tests.projects import breast_cancer_project

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
S3 = f"s3://{BUCKET}"


def _table(name: str) -> pa.Table:
    return pcsv.read_csv(ROOT / "data" / name)


def _with(table: pa.Table, row: int, column: str, value: float) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values))


def _write_parquet(filesystem: pafs.FileSystem, path: str, table: pa.Table) -> None:
    pq.write_table(table, f"{BUCKET}/{path}", filesystem=filesystem, row_group_size=40)


def _write_csv(filesystem: pafs.FileSystem, path: str, table: pa.Table) -> None:
    with filesystem.open_output_stream(f"{BUCKET}/{path}") as out:
        pcsv.write_csv(table, out)


@pytest.fixture(scope="session")
def remote_data(s3: pafs.S3FileSystem) -> dict[str, str]:
    """In S3: the example's train split as a Hive-partitioned Parquet dataset (4 files, a value
    below min in the third, a row of the first repeated in the fourth), its current split as
    Parquet files under a glob and as a CSV folder (3 files, text in a float column in the
    second) and its train split as a clean CSV folder; the test split as one Parquet object."""
    train, current = _table("train.csv"), _table("current.csv")
    chunks = [train.slice(0, 90), train.slice(90, 80), _with(train.slice(170, 90), 4, "mean_radius", -1.0),
              pa.concat_tables([train.slice(260), train.slice(2, 1)])]
    for index, chunk in enumerate(chunks):
        _write_parquet(s3, f"pq/train/dt=2026-11-0{1 + index // 2}/part-{index % 2}.parquet", chunk)
    s3.open_output_stream(f"{BUCKET}/pq/train/_SUCCESS").close()
    _write_parquet(s3, "pq/test.parquet", _table("test.csv"))
    for index in range(3):
        _write_parquet(s3, f"pq/current/part-{index}.parquet", current.slice(index * 40, 40))
    text = current.set_column(0, "mean_radius", pa.array([str(v) for v in current.column(0).to_pylist()]))
    text = _with(text, 41, "mean_radius", "abc")  # type: ignore[arg-type]
    for index in range(3):
        _write_csv(s3, f"csv/current/part-{index}.csv", text.slice(index * 40, 40))
        _write_csv(s3, f"csv/train/part-{index}.csv", train.slice(index * 120, 120))
    return {"train": f"{S3}/pq/train", "test": f"{S3}/pq/test.parquet",
            "current": f"{S3}/pq/current/*.parquet", "csv": f"{S3}/csv/current/",
            "csv_train": f"{S3}/csv/train"}


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several parts per file (the driver cuts the parts, so the workers need no patch)."""
    monkeypatch.setattr(datasets, "PART_ROWS", 40)
    monkeypatch.setattr(datasets, "PART_BYTES", 2000)


def _view(result: GateResult) -> list[tuple[Any, ...]]:
    return [(c.name, c.status, c.message, c.observed, c.details) for c in result.checks]


def _gate(spec: Path, engine: DataEngine) -> GateResult:
    return GATE.run(load_spec(spec, check_files=False), GateOptions(engine=engine))


@pytest.fixture(scope="module")
def parquet_project(tmp_path_factory: pytest.TempPathFactory, remote_data: dict[str, str]) -> Path:
    folder = tmp_path_factory.mktemp("parquet") / "project"
    return breast_cancer_project(folder, {
        "data.format": "parquet", "data.train": remote_data["train"],
        "data.reference": remote_data["train"], "data.test": remote_data["test"],
        "data.current": remote_data["current"]})


def test_parquet_in_s3_gives_the_same_verdicts_on_both_engines(
        parquet_project: Path, ray_cluster: Any, small_parts: None) -> None:
    local, ray = _gate(parquet_project, "local"), _gate(parquet_project, "ray")
    assert _view(ray) == _view(local)
    assert ray.charts == local.charts
    messages = {c.name: c.message for c in local.checks}
    train = f"{S3}/pq/train/dt=2026-11-02"
    assert {c.name for c in local.checks if c.status == "fail"} == {"train.ranges"}
    assert messages["train.ranges"] == (
        f"{S3}/pq/train: column 'mean_radius' has 1 values below min 0, first -1 at row 5 of "
        f"{train}/part-0.parquet")
    assert messages["train.duplicates"] == (
        f"{S3}/pq/train: duplicate row fraction 0.002924, configured to fail when above 0.01 (1 "
        f"duplicate row, first: row 82 of {train}/part-1.parquet repeats row 3 of "
        f"{S3}/pq/train/dt=2026-11-01/part-0.parquet)")
    assert next(c for c in local.checks if c.name == "train.rows").observed == 342
    assert next(c for c in local.checks if c.name == "current.rows").observed == 114


def test_a_csv_folder_in_s3_locates_a_bad_value_by_file_and_row(
        tmp_path: Path, remote_data: dict[str, str], ray_cluster: Any, small_parts: None) -> None:
    spec = breast_cancer_project(tmp_path / "project", {"data.current": remote_data["csv"]})
    local, ray = _gate(spec, "local"), _gate(spec, "ray")
    assert _view(ray) == _view(local)
    types = next(c for c in local.checks if c.name == "current.types")
    assert types.message == (f"{S3}/csv/current/: column 'mean_radius' expected float, found text "
                             f"'abc' at row 2 of {S3}/csv/current/part-1.csv (1 value)")


def test_monitor_reads_an_s3_reference_the_same_on_both_engines(
        tmp_path: Path, remote_data: dict[str, str], ray_cluster: Any, small_parts: None) -> None:
    write_jsonl(tmp_path / "logs" / "r.jsonl", records(shifted(data_rows("current.csv")), NOW - 60))
    monitor = dataclasses.replace(config(tmp_path), reference=remote_data["csv_train"])
    loaded = root_spec()
    with open_engine("local") as engine:
        local = run_monitor(loaded, monitor, NOW, engine)
    with open_engine("ray") as engine:
        ray = run_monitor(loaded, monitor, NOW, engine)
    checks = [(c.name, c.status, c.message, c.observed, c.details) for c in local.report.gates[0].checks]
    assert [(c.name, c.status, c.message, c.observed, c.details)
            for c in ray.report.gates[0].checks] == checks
    assert _without_clock(ray.metrics) == _without_clock(local.metrics)
    assert ray.exit_code == local.exit_code == 1


def _without_clock(metrics: str) -> list[str]:
    """The metrics but the time of the run."""
    return [line for line in metrics.splitlines() if telemetry.MONITOR_LAST_RUN.name not in line]


@pytest.mark.parametrize(("location", "message"), [
    (f"{S3}/no-such-prefix/", f"{S3}/no-such-prefix/: file not found"),
    ("s3://no-such-bucket/train.parquet", "s3://no-such-bucket/train.parquet: file not found"),
    (f"{S3}/pq/current/*.csv", f"{S3}/pq/current/*.csv: no file matches the pattern"),
])
def test_missing_remote_data_names_the_location(tmp_path: Path, remote_data: dict[str, str],
                                                location: str, message: str) -> None:
    spec = breast_cancer_project(tmp_path / "project", {"data.current": location})
    result = _gate(spec, "local")
    assert {c.name: c.message for c in result.checks if c.status == "fail"} == {
        "current.file": message}


def test_an_empty_folder_and_a_file_of_another_format(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "project", {"data.current": "data/batches",
                                                        "data.test": "data/mixed"})
    (tmp_path / "project/data/batches/_SUCCESS").parent.mkdir(parents=True)
    (tmp_path / "project/data/batches/_SUCCESS").write_text("")
    mixed = tmp_path / "project/data/mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_bytes((ROOT / "data/test.csv").read_bytes())
    pq.write_table(_table("test.csv"), mixed / "b.csv")
    failed = {c.name: c.message for c in _gate(spec, "local").checks if c.status == "fail"}
    assert failed["current.file"] == "data/batches: the folder holds no data files"
    assert failed["test.file"].startswith("data/mixed/b.csv: cannot read as CSV: ")


def test_cli_gate_data_on_a_folder_with_the_engine_option(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "project", {"data.train": "data/train"})
    train = _table("train.csv")
    (tmp_path / "project/data/train").mkdir()
    for index in range(3):
        pcsv.write_csv(train.slice(index * 120, 120),
                       tmp_path / f"project/data/train/part-{index}.csv")
    done = subprocess.run([MLOPS, "gate", "data", str(spec), "--engine", "local", "--report-dir",
                           str(tmp_path / "reports")], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "breast-cancer: passed\n"), done.stderr
    wrong = subprocess.run([MLOPS, "gate", "data", str(spec), "--engine", "spark"],
                           capture_output=True, text=True, check=False)
    assert wrong.returncode == 2
    assert "Invalid value for '--engine': 'spark' is not one of 'local', 'ray'." in wrong.stderr
