"""`mlops predict` on a team's table unlike ours: the churn example (string columns with nulls,
one ONNX graph input per column, LightGBM), its rows spread over a Hive-partitioned Parquet folder
and a CSV folder with an id column the schema does not know.

Predictions are compared with the same model run in process over the same rows (the Ray engine,
from and to S3, is compared with the local one in tests/harness/batch); a bad row, a rule broken
under `reject`, a missing key column and a folder already holding predictions stop the run with a
located message and leave the output folder as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from mlops.core.columns import from_arrow
from mlops.harness.model.loading import load_model
from mlops.spec.loader import load_spec
from tests.specs import edit_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "churn"
ROWS_PER_FILE = 150
QUOTE = chr(34)  # pyarrow quotes the header names


def mlops(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops", *args], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MLOPS_MODEL_VERSION": "7"})


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn example; its test rows with a customer id, as 3 Parquet partitions and 3 CSVs."""
    folder = tmp_path_factory.mktemp("churn-team")
    shutil.copytree(EXAMPLE, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    table = pcsv.read_csv(EXAMPLE / "data" / "test.csv",
                          convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    rows = min(table.num_rows, 3 * ROWS_PER_FILE)
    table = table.slice(0, rows).drop_columns(["churned"])
    table = table.add_column(0, "customer_id", pa.array([f"c{i:04d}" for i in range(rows)]))
    for index in range(3):
        chunk = table.slice(index * ROWS_PER_FILE, ROWS_PER_FILE)
        day = folder / "scoring" / f"dt=2026-11-0{index + 1}"
        day.mkdir(parents=True)
        pq.write_table(chunk, day / "part-0.parquet", row_group_size=64)
        (folder / "csv").mkdir(exist_ok=True)
        pcsv.write_csv(chunk, folder / "csv" / f"batch-{index}.csv",
                       pcsv.WriteOptions(quoting_style="none"))
    return folder


def read_predictions(folder: Path) -> pa.Table:
    files = sorted(folder.glob("part-*.parquet"))
    assert files, f"no predictions in {folder}"
    return pa.concat_tables(pq.read_table(file) for file in files).sort_by("customer_id")


def expected_probabilities(team: Path) -> Iterator[tuple[str, float]]:
    """(customer id, P(yes)) from the model run in process over the partitions' rows."""
    loaded = load_spec(team / "mlops.yaml")
    model = load_model(loaded)
    for file in sorted((team / "scoring").rglob("*.parquet")):
        table = pq.read_table(file)
        scores = model.predict_proba(from_arrow(table, loaded.spec.data.feature_rules()))
        yield from zip(table.column("customer_id").to_pylist(), scores[:, 1].tolist(),
                       strict=True)


def test_a_partitioned_dataset_is_scored_with_the_servers_contract(team: Path) -> None:
    done = mlops(team, "predict", "--input", "scoring", "--output", "out/parquet",
                 "--key", "customer_id")
    assert done.returncode == 0, done.stderr
    rows = 3 * ROWS_PER_FILE
    assert done.stdout.startswith(f"subscription-churn-propensity: {rows} rows scored into ")
    out = team / "out" / "parquet"
    assert (out / "_SUCCESS").is_file() and not (out / "_temporary").exists()
    table = read_predictions(out)
    assert table.column_names == ["customer_id", "label", "probability_no", "probability_yes",
                                  "model_version", "model_digest", "scored_at"]
    expected = dict(expected_probabilities(team))
    got = dict(zip(table.column("customer_id").to_pylist(),
                   table.column("probability_yes").to_pylist(), strict=True))
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), atol=1e-6)
    labels = table.column("label").to_pylist()
    assert labels == ["yes" if got[k] > 0.5 else "no"
                      for k in table.column("customer_id").to_pylist()]
    assert set(table.column("model_version").to_pylist()) == {"7"}
    assert table.column("model_digest")[0].as_py().startswith("sha256:")
    group = pq.ParquetFile(next(out.glob("part-*.parquet"))).metadata.row_group(0)
    dictionary = {group.column(i).path_in_schema for i in range(group.num_columns)
                  if "RLE_DICTIONARY" in group.column(i).encodings}
    assert dictionary == {"label", "model_version", "model_digest"}  # never the keys or scores


def test_a_csv_folder_gives_the_same_predictions(team: Path) -> None:
    """Both runs here: another test's output folder exists only if a fixed order ran it first."""
    for source, output in (("csv", "out/csv"), ("scoring", "out/parquet-beside-csv")):
        done = mlops(team, "predict", "--input", source, "--output", output, "--key",
                     "customer_id")
        assert done.returncode == 0, done.stderr
    parquet = read_predictions(team / "out" / "parquet-beside-csv")
    csv = read_predictions(team / "out" / "csv")
    for column in ("customer_id", "label", "probability_yes"):
        assert csv.column(column).to_pylist() == parquet.column(column).to_pylist(), column


def test_an_output_folder_holding_predictions_is_refused_and_left_alone(team: Path) -> None:
    out = team / "out" / "kept"
    out.mkdir(parents=True)
    (out / "part-00000.parquet").write_bytes(b"an earlier run")
    done = mlops(team, "predict", "--input", "scoring", "--output", "out/kept")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "out/kept: the output folder already holds predictions (1 data file, e.g. "
        "part-00000.parquet); choose an empty or new folder")
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet"]


def test_a_value_of_the_wrong_type_names_its_file_and_row(team: Path) -> None:
    bad = team / "bad-type"
    shutil.copytree(team / "csv", bad)
    lines = (bad / "batch-1.csv").read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").replace(QUOTE, "").split(",")
    cells = lines[5].rstrip("\n").split(",")
    cells[header.index("tenure_months")] = "many"
    lines[5] = ",".join(cells) + "\n"
    (bad / "batch-1.csv").write_text("".join(lines))
    done = mlops(team, "predict", "--input", "bad-type", "--output", "out/bad-type")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "bad-type: column 'tenure_months' expected int, found text 'many' at row 5 of "
        "bad-type/batch-1.csv (1 value)")
    assert not (team / "out" / "bad-type").exists() or not any(
        (team / "out" / "bad-type").iterdir())


def test_a_rule_broken_under_reject_stops_the_run_and_log_scores_it(team: Path) -> None:
    bad = team / "bad-rule"
    shutil.copytree(team / "csv", bad)
    text = (bad / "batch-2.csv").read_text().splitlines(keepends=True)
    header = text[0].rstrip("\n").replace(QUOTE, "").split(",")
    cells = text[3].rstrip("\n").split(",")
    cells[header.index("country")] = "IT"
    text[3] = ",".join(cells) + "\n"
    (bad / "batch-2.csv").write_text("".join(text))
    done = mlops(team, "predict", "--input", "bad-rule", "--output", "out/bad-rule")
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        "bad-rule: row 3 of bad-rule/batch-2.csv: feature 'country' is 'IT'")
    assert done.stderr.strip().endswith(
        "(serving.on_schema_violation: reject; set it to log to score such rows and count them)")
    assert not list((team / "out").glob("bad-rule/*.parquet"))
    logged = team / "logged.yaml"
    shutil.copy(team / "mlops.yaml", logged)
    edit_spec(logged, {"serving.on_schema_violation": "log"})
    done = mlops(team, "predict", "logged.yaml", "--input", "bad-rule", "--output", "out/logged")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(
        "; 1 schema violation(s) scored and counted (serving.on_schema_violation: log)")


def test_a_missing_key_column_is_named(team: Path) -> None:
    done = mlops(team, "predict", "--input", "scoring", "--output", "out/no-key", "--key", "id")
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        "scoring: key column 'id' is not in the input (it has customer_id, plan, ")
