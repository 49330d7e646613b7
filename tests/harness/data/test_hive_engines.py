"""A team's Hive-partitioned dataset whose partition keys are schema columns: the churn example's
splits as Parquet files under `dt=.../plan=.../country=...` (`plan` and `country` only in the path,
`dt` undeclared), on the local disk and in S3 (moto on loopback). The data gate, the model gate's
slices on a key and `mlops predict` with keys copied from the path give on both engines exactly
what they give each other, and what the same rows give as flat files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from mlops.core.columns import from_arrow
from mlops.harness.batch.predict import model_source, predict
from mlops.harness.data.gate import GATE as DATA_GATE
from mlops.harness.engine import open_engine
from mlops.harness.gate import GateOptions
from mlops.harness.model.gate import GATE as MODEL_GATE
from mlops.harness.model.loading import load_model
from mlops.harness.monitor.reference import ReferenceData, read_reference
from mlops.harness.result import GateResult
from mlops.spec.loader import load_spec
from mlops.spec.models import DataEngine
from tests.harness.conftest import BUCKET
from tests.specs import REMOVE, edit_spec, location

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "churn"
SPLITS = ("train", "test", "current")
KEYS = ("plan", "country")
DAYS = ("2026-11-01", "2026-11-02")


def _split(name: str) -> pa.Table:
    return pcsv.read_csv(EXAMPLE / "data" / f"{name}.csv",
                         convert_options=pcsv.ConvertOptions(strings_can_be_null=True))


def _partitions(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """(folder, rows) per day (the first and second half of the rows), plan and country."""
    found = []
    half = table.num_rows // 2
    for day, rows in zip(DAYS, (table.slice(0, half), table.slice(half)), strict=True):
        for plan in sorted(set(rows.column("plan").to_pylist())):
            for country in sorted(set(rows.column("country").to_pylist())):
                mask = pc.and_(pc.equal(rows.column("plan"), plan),
                               pc.equal(rows.column("country"), country))
                chosen = rows.filter(mask).drop_columns(list(KEYS))
                if chosen.num_rows:
                    found.append((f"dt={day}/plan={plan}/country={country}", chosen))
    return found


def _project(folder: Path, location: str) -> Path:
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    changes: dict[str, Any] = {"model.baseline": REMOVE, "metrics.robustness.examples": 10}
    if location:
        changes.update({"data.format": "parquet", "data.reference": REMOVE,
                        **{f"data.{split}": f"{location}/{split}" for split in SPLITS}})
    return edit_spec(folder / "mlops.yaml", changes)


@pytest.fixture(scope="module")
def flat_data_gate(projects: dict[str, Path]) -> GateResult:
    return _data_gate(projects["flat"], "local")


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory, s3: pafs.S3FileSystem) -> dict[str, Path]:
    """The churn example as flat CSV files, and its splits partitioned on the local disk and in
    S3: 30 files per split, one Ray task each."""
    base = tmp_path_factory.mktemp("hive")
    made = {"flat": _project(base / "flat", ""), "local": _project(base / "local", "hive"),
            "s3": _project(base / "s3", f"s3://{BUCKET}/hive")}
    for split in SPLITS:
        for folder, rows in _partitions(_split(split)):
            local = base / "local" / "hive" / split / folder
            local.mkdir(parents=True)
            pq.write_table(rows, local / "part-0.parquet")
            pq.write_table(rows, f"{BUCKET}/hive/{split}/{folder}/part-0.parquet", filesystem=s3)
    return made


def _data_gate(spec: Path, engine: DataEngine) -> GateResult:
    return DATA_GATE.run(load_spec(spec, check_files=False), GateOptions(engine=engine))


def _view(result: GateResult) -> list[tuple[Any, ...]]:
    return [(c.name, c.status, c.message, c.observed, c.details) for c in result.checks]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_the_data_gate_sees_the_keys_as_schema_columns_on_both_engines(
        projects: dict[str, Path], flat_data_gate: GateResult, where: str,
        ray_cluster: Any) -> None:
    local, ray = _data_gate(projects[where], "local"), _data_gate(projects[where], "ray")
    assert _view(ray) == _view(local)
    flat = flat_data_gate
    assert [(c.name, c.status, c.observed) for c in local.checks] == [
        (c.name, c.status, c.observed) for c in flat.checks]
    messages = {c.name: c.message for c in local.checks}
    train = "hive/train" if where == "local" else f"s3://{BUCKET}/hive/train"
    assert messages["train.columns"] == f"{train}: all 9 schema columns present"


def _slices(result: GateResult) -> list[tuple[Any, ...]]:
    return [(c.name, c.status, c.details, round(float(c.observed or 0), 9))
            for c in result.checks if c.name.startswith(("slice[", "group_gap"))]


def test_slices_and_group_gaps_on_keys_match_the_flat_test_split(
        projects: dict[str, Path]) -> None:
    hive = MODEL_GATE.run(load_spec(projects["local"]), GateOptions())
    flat = MODEL_GATE.run(load_spec(projects["flat"]), GateOptions())
    assert _slices(hive) == _slices(flat)
    assert [c.name for c in hive.checks if c.name.startswith("slice[")] == [
        "slice[plan == 'basic'].recall", "slice[country in ['US', 'DE']].accuracy",
        "slice[tenure_months < 12].recall"]


def _score(spec: Path, engine: DataEngine, source: str, output: str) -> pa.Table:
    loaded = load_spec(spec, check_files=False)
    model = model_source(loaded, loaded.resolve(loaded.spec.model.artifact).read_bytes(), "v1")
    with open_engine(engine) as running:
        predict(loaded, model, source, output, ["dt", "plan", "country"], running)
    filesystem, path = pafs.FileSystem.from_uri(output)
    found = filesystem.get_file_info(pafs.FileSelector(path))
    names = sorted(info.path for info in found if info.base_name.startswith("part-"))
    return pa.concat_tables(pq.read_table(name, filesystem=filesystem) for name in names)


def test_predict_copies_keys_from_the_path_the_same_on_both_engines(
        projects: dict[str, Path], ray_cluster: Any) -> None:
    source = f"s3://{BUCKET}/hive/test"
    local = _score(projects["s3"], "local", source, f"s3://{BUCKET}/hive-out/local")
    ray = _score(projects["s3"], "ray", source, f"s3://{BUCKET}/hive-out/ray")
    assert local.drop_columns(["scored_at"]).equals(ray.drop_columns(["scored_at"]))
    assert local.column_names[:3] == ["dt", "plan", "country"]
    assert local.schema.field("dt").type == pa.string()  # undeclared: the path's text
    flat = _split("test")
    assert local.num_rows == flat.num_rows
    assert local.column("dt").to_pylist() == [DAYS[0]] * (flat.num_rows // 2) + [DAYS[1]] * (
        flat.num_rows - flat.num_rows // 2)
    loaded = load_spec(projects["flat"])
    expected = load_model(loaded).predict_proba(from_arrow(flat, loaded.spec.data.feature_rules()))
    got = local.select(["plan", "country", "probability_yes"]).to_pylist()
    want = [{"plan": p, "country": c, "probability_yes": float(s)} for p, c, s in zip(
        flat.column("plan").to_pylist(), flat.column("country").to_pylist(), expected[:, 1],
        strict=True)]
    order = ("plan", "country", "probability_yes")
    got.sort(key=lambda row: tuple(row[k] for k in order))
    want.sort(key=lambda row: tuple(row[k] for k in order))
    assert [(r["plan"], r["country"]) for r in got] == [(r["plan"], r["country"]) for r in want]
    np.testing.assert_allclose([r["probability_yes"] for r in got],
                               [r["probability_yes"] for r in want], atol=1e-6)


def test_the_cli_scores_a_local_hive_folder_with_a_key_from_the_path(
        projects: dict[str, Path]) -> None:
    folder = projects["local"].parent
    done = subprocess.run([sys.executable, "-m", "mlops", "predict", "--input", "hive/test",
                           "--output", "out", "--key", "dt", "--key", "country"], cwd=folder,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    table = pa.concat_tables(pq.read_table(path) for path in sorted((folder / "out").glob(
        "part-*.parquet")))
    assert table.column_names[:2] == ["dt", "country"]
    assert set(table.column("dt").to_pylist()) == set(DAYS)
    missing = subprocess.run([sys.executable, "-m", "mlops", "predict", "--input", "hive/test",
                              "--output", "out2", "--key", "region"], cwd=folder,
                             capture_output=True, text=True, timeout=300, check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("hive/test: key column 'region' is not in the input")


def _reference(spec: Path, engine: DataEngine) -> ReferenceData:
    loaded = load_spec(spec, check_files=False)
    with open_engine(engine) as running:
        return read_reference(loaded, loaded.spec.data.reference_path, NUMERIC, KEYS, running)


NUMERIC = ("tenure_months", "monthly_charges")


def test_the_monitors_reference_counts_the_keys_the_same_on_both_engines(
        projects: dict[str, Path], ray_cluster: Any) -> None:
    local, ray = _reference(projects["s3"], "local"), _reference(projects["s3"], "ray")
    flat = _reference(projects["flat"], "local")
    assert local.categories == ray.categories == flat.categories
    assert sorted(local.categories["country"]) == ["DE", "ES", "FR", "GB", "US"]
    for name in NUMERIC:
        assert local.column(name).tolist() == ray.column(name).tolist()


def test_a_file_outside_the_partitions_fails_the_data_gate_with_its_path(
        projects: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "team"
    shutil.copytree(projects["local"].parent, folder)
    late = folder / "hive" / "test" / "dt=2026-11-03"
    late.mkdir()
    first = folder / "hive" / "test" / "dt=2026-11-01" / "plan=basic" / "country=DE" / "part-0.parquet"
    shutil.copy(first, late / "part-0.parquet")
    done = subprocess.run([sys.executable, "-m", "mlops", "gate", "data", "mlops.yaml",
                           "--report-dir", str(tmp_path / "reports")], cwd=folder,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    where = location((folder / "mlops.yaml").read_text(), "data.test")
    assert (f"  fail: test.file: mlops.yaml:{where}: data.test: "
            "hive/test/dt=2026-11-03/part-0.parquet: no partition key 'plan' "
            "in its path (hive/test/dt=2026-11-01/plan=basic/country=DE/part-0.parquet has "
            "plan=basic)\n") in done.stderr
    assert "Traceback" not in done.stderr
