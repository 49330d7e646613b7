"""Datasets in Google Cloud Storage (`gs://`) and Azure Blob Storage (`abfs://`), each on a real
emulator on loopback (tests/emulators.py) reached through the environment alone, as a team's own
account would be: the data gate gives the verdicts it gives on the same files on disk, `mlops
predict` reads from and writes to the store, and a missing bucket or missing credentials are named.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from mlops.core import object_stores
from mlops.core.errors import MlopsError
from mlops.core.storage import resolve
from mlops.harness.batch.predict import model_source, predict
from mlops.harness.data import datasets
from mlops.harness.data.gate import GATE
from mlops.harness.engine.base import open_engine
from mlops.harness.gate import GateOptions
from mlops.harness.result import GateResult
from mlops.spec.loader import load_spec
from tests.emulators import AZURITE_ACCOUNT, BUCKET, Store, azurite, gcs_emulator
from tests.projects import breast_cancer_project

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LOCAL = "store"
"""The on-disk copy of the store's files, in the project folder."""


@pytest.fixture(scope="module", params=["gs", "abfs"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Store]:
    """One emulator per store kind, holding the dataset of `_dataset` (and a copy on disk)."""
    folder = tmp_path_factory.mktemp(f"{request.param}-emulator")
    emulator = gcs_emulator if request.param == "gs" else azurite
    with emulator(folder) as running:
        yield running


def _table(name: str) -> pa.Table:
    return pcsv.read_csv(ROOT / "data" / name)


def _dataset() -> dict[str, pa.Table]:
    """The example's train split as a Hive-partitioned Parquet dataset (a value below min in the
    third file), its test split as one Parquet file, its current split as Parquet files under a
    glob, as a CSV folder (text in a float column of the second file) and, with a row id, as a
    CSV folder to score."""
    train, current = _table("train.csv"), _table("current.csv")
    radius = train.column("mean_radius").to_pylist()
    radius[180 + 4] = -1.0
    train = train.set_column(0, "mean_radius", pa.array(radius))
    files: dict[str, pa.Table] = {"pq/test.parquet": _table("test.csv")}
    for index in range(4):
        files[f"pq/train/dt=2026-11-0{1 + index // 2}/part-{index % 2}.parquet"] = train.slice(
            index * 90, 90)
    text = [str(value) for value in current.column("mean_radius").to_pylist()]
    text[41] = "abc"
    csv = current.set_column(0, "mean_radius", pa.array(text))
    scored = current.add_column(0, "row_id", pa.array(range(current.num_rows), pa.int64()))
    for index in range(3):
        files[f"pq/current/part-{index}.parquet"] = current.slice(index * 40, 40)
        files[f"csv/current/part-{index}.csv"] = csv.slice(index * 40, 40)
        files[f"csv/score/part-{index}.csv"] = scored.slice(index * 40, 40)
    return files


def _write(filesystem: pafs.FileSystem, base: str, files: dict[str, pa.Table]) -> None:
    for name, table in files.items():
        path = f"{base}/{name}"
        filesystem.create_dir(path.rpartition("/")[0])
        if name.endswith(".csv"):
            with filesystem.open_output_stream(path) as out:
                pcsv.write_csv(table, out)
        else:
            pq.write_table(table, path, filesystem=filesystem, row_group_size=30)


LAYOUTS = {"parquet": {"data.format": "parquet", "data.train": "{base}/pq/train",
                       "data.reference": "{base}/pq/train", "data.test": "{base}/pq/test.parquet",
                       "data.current": "{base}/pq/current/*.parquet"},
           "csv": {"data.current": "{base}/csv/current/"}}
"""Two specs per store: a Hive-partitioned Parquet dataset and a Parquet glob; a CSV folder."""


@pytest.fixture(scope="module")
def projects(store: Store, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, tuple[Path, Path]]:
    """By layout: (the spec reading the store, the same spec reading the copy on disk), with the
    models."""
    folder = tmp_path_factory.mktemp(f"{store.scheme}-project")
    files = _dataset()
    _write(store.filesystem, BUCKET, files)
    specs = {}
    for layout, changes in LAYOUTS.items():
        remote, local = (breast_cancer_project(folder / f"{layout}-{name}", {
            key: value.format(base=base) for key, value in changes.items()}, models=True)
            for name, base in (("remote", store.uri), ("local", LOCAL)))
        _write(pafs.LocalFileSystem(), str(local.parent / LOCAL), files)
        specs[layout] = remote, local
    return specs


def _gate(spec: Path) -> GateResult:
    return GATE.run(load_spec(spec, check_files=False), GateOptions(engine="local"))


def _view(result: GateResult, prefix: str) -> list[tuple[Any, ...]]:
    """The checks, the store's URI read as the on-disk folder's name."""
    return [(c.name, c.status, c.message.replace(prefix, LOCAL), c.observed, c.details)
            for c in result.checks]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_data_gate_gives_the_verdicts_it_gives_on_disk(
        store: Store, projects: dict[str, tuple[Path, Path]], layout: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "PART_ROWS", 40)  # several parts per file
    remote, local = (_gate(spec) for spec in projects[layout])
    assert _view(remote, store.uri) == _view(local, LOCAL)
    failed = {c.name: c.message for c in remote.checks if c.status == "fail"}
    assert failed == {name: message.format(uri=store.uri)
                      for name, message in FAILED[layout].items()}


FAILED = {
    "parquet": {"train.ranges": "{uri}/pq/train: column 'mean_radius' has 1 values below min 0, "
                                "first -1 at row 5 of {uri}/pq/train/dt=2026-11-02/part-0.parquet"},
    "csv": {"current.types": "{uri}/csv/current/: column 'mean_radius' expected float, found "
                             "text 'abc' at row 2 of {uri}/csv/current/part-1.csv (1 value)"}}


def _mlops(project: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=project, text=True,
                          capture_output=True, timeout=300,
                          env={**os.environ, "MLOPS_MODEL_VERSION": "7", **environment})


def _predictions(filesystem: pafs.FileSystem, folder: str) -> pa.Table:
    found = filesystem.get_file_info(pafs.FileSelector(folder))
    parts = sorted(info.path for info in found if info.base_name.startswith("part-"))
    return pa.concat_tables(pq.read_table(part, filesystem=filesystem) for part in parts)


def test_mlops_predict_reads_from_and_writes_to_the_store(
        store: Store, projects: dict[str, tuple[Path, Path]]) -> None:
    remote, local = (spec.parent for spec in projects["csv"])
    done = _mlops(remote, "predict", "--input", f"{store.uri}/csv/score/", "--output",
                  f"{store.uri}/batch/out", "--key", "row_id")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"breast-cancer: 114 rows scored into 3 file(s) in {store.uri}/batch/out (local engine, ")
    written = _predictions(store.filesystem, f"{BUCKET}/batch/out")
    assert written.column("row_id").to_pylist() == [str(row) for row in range(114)]
    assert written.drop_columns(["scored_at"]).equals(_scored_on_disk(local))
    success = store.filesystem.get_file_info(f"{BUCKET}/batch/out/_SUCCESS")
    assert success.type == pafs.FileType.File




def _scored_on_disk(project: Path) -> pa.Table:
    """What `mlops predict` writes for the copy on disk (run in process: the same code)."""
    loaded = load_spec(project / "mlops.yaml", check_files=False)
    model = model_source(loaded, loaded.resolve(loaded.spec.model.artifact).read_bytes(), "7")
    with open_engine("local") as engine:
        predict(loaded, model, f"{LOCAL}/csv/score/", "out", ["row_id"], engine)
    return _predictions(pafs.LocalFileSystem(), str(project / "out")).drop_columns(["scored_at"])


def test_a_missing_bucket_is_named(store: Store, tmp_path: Path) -> None:
    location = f"{store.scheme}://no-such-bucket/train/"
    with pytest.raises(MlopsError) as raised:
        resolve(location, tmp_path)
    assert str(raised.value) == f"{location}: file not found"


def test_missing_credentials_are_named_with_the_variables_to_set(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in store.environment:
        monkeypatch.delenv(name)
    if store.scheme == "gs":
        # no key file: Google's client looks for the metadata server, which is not there
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv(object_stores.GCS_RETRY, "1")
        location = f"gs://{BUCKET}/pq/train"
        expected = f"{location}: cannot read: {object_stores.NO_GCS_CREDENTIALS}"
    else:
        location = f"abfs://{BUCKET}@{AZURITE_ACCOUNT}.dfs.core.windows.net/pq/train"
        expected = f"{location}: cannot read: {object_stores.NO_AZURE_CREDENTIALS}"
    with pytest.raises(MlopsError) as raised:
        resolve(location, tmp_path)
    assert str(raised.value) == expected


def test_cli_names_an_azure_location_without_an_account(
        projects: dict[str, tuple[Path, Path]], store: Store) -> None:
    if store.scheme != "abfs":
        pytest.skip("an Azure setting")
    clean = {name: "" for name in store.environment}
    done = _mlops(projects["csv"][0].parent, "predict", "--input", f"abfs://{BUCKET}/csv/score/",
                  "--output", "out", **clean)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == (f"abfs://{BUCKET}/csv/score/: cannot open the object store: "
                                   f"{object_stores.NO_AZURE_ACCOUNT}")
