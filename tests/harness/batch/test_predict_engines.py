"""`mlops predict` from object storage into object storage, on both engines: a real S3 API (moto's
server) and a local Ray cluster. Ray must write exactly what the local engine writes, file by file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from mlops.harness.batch.predict import model_source, predict
from mlops.harness.data import datasets
from mlops.harness.engine.base import open_engine
from mlops.spec.loader import load_spec
from mlops.spec.models import DataEngine
from tests.harness.conftest import BUCKET
from tests.projects import breast_cancer_project

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, s3: pafs.S3FileSystem) -> Path:
    """The breast-cancer spec (with its model); its current split (114 rows) in S3 as three
    Parquet files with an id."""
    current = pcsv.read_csv(ROOT / "data" / "current.csv")
    current = current.add_column(0, "row_id", pa.array(range(current.num_rows), pa.int64()))
    for index in range(3):
        chunk = current.slice(index * 40, 40)
        pq.write_table(chunk, f"{BUCKET}/batch/in/part-{index}.parquet", filesystem=s3,
                       row_group_size=20)
    return breast_cancer_project(tmp_path_factory.mktemp("batch") / "project", {}, models=True)


def _score(project: Path, engine: DataEngine, output: str) -> list[pa.Table]:
    loaded = load_spec(project, check_files=False)
    model = model_source(loaded, loaded.resolve(loaded.spec.model.artifact).read_bytes(), "v1")
    with open_engine(engine) as running:
        scored = predict(loaded, model, f"s3://{BUCKET}/batch/in/", output, ["row_id"], running)
    assert (scored.rows, scored.engine) == (114, engine)
    return [pq.read_table(path, filesystem=pafs.FileSystem.from_uri(output)[0])
            for path in _files(output)]


def _files(output: str) -> list[str]:
    filesystem, path = pafs.FileSystem.from_uri(output)
    found = filesystem.get_file_info(pafs.FileSelector(path))
    return sorted(info.path for info in found if info.base_name.startswith("part-"))


def test_both_engines_write_the_same_predictions_to_s3(project: Path, s3: pafs.S3FileSystem,
                                                       ray_cluster: object,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "PART_ROWS", 20)  # two parts per file: six tasks
    local = _score(project, "local", f"s3://{BUCKET}/batch/out-local")
    ray = _score(project, "ray", f"s3://{BUCKET}/batch/out-ray")
    assert len(local) == len(ray) == 6
    for mine, theirs in zip(local, ray, strict=True):
        assert mine.drop_columns(["scored_at"]).equals(theirs.drop_columns(["scored_at"]))
    rows = pa.concat_tables(local)
    assert rows.column("row_id").to_pylist() == list(range(114))
    with s3.open_input_stream(f"{BUCKET}/batch/out-ray/_SUCCESS") as stream:
        summary = json.loads(stream.read())
    assert (summary["rows"], len(summary["files"]), summary["model_version"]) == (114, 6, "v1")
    staging = s3.get_file_info(f"{BUCKET}/batch/out-ray/_temporary")
    assert staging.type == pafs.FileType.NotFound
