"""The data gate on a copy of the example: the clean data passes, each injected fault fails it
with a message naming the cause."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from mlops.harness.data import datasets
from mlops.harness.data.gate import GATE
from mlops.harness.gate import GateOptions
from mlops.harness.result import CheckResult, GateResult, display_number
from mlops.spec.loader import load_spec
from tests.harness.data_helpers import Rows, edit_csv, read_rows
from tests.projects import breast_cancer_project
from tests.specs import REMOVE, edit_spec


def run(spec: Path) -> GateResult:
    return GATE.run(load_spec(spec, check_files=False), GateOptions())


def failed(result: GateResult) -> dict[str, str]:
    return {c.name: c.message for c in result.checks if c.status in ("fail", "error")}


def check(result: GateResult, name: str) -> CheckResult:
    return next(c for c in result.checks if c.name == name)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return breast_cancer_project(tmp_path / "project")


def test_clean_example_passes(project: Path) -> None:
    result = run(project)
    assert failed(result) == {}
    assert result.status == "pass"
    names = {c.name for c in result.checks}
    for split in ("train", "test", "current"):
        assert {f"{split}.{n}" for n in ("columns", "types", "nulls", "ranges", "allowed", "rows",
                                         "null_fraction", "duplicates", "class_balance")} <= names
    spec = load_spec(project, check_files=False).spec
    assert {f"drift.{f}" for f in spec.data.features} <= names
    assert check(result, "drift.dataset").message == (
        "drifted feature fraction (0 of 30) 0, configured to fail when above 0.3")
    assert result.charts["drift"]["labels"] == spec.data.features
    assert check(result, "train.columns").message == "data/train.csv: all 31 schema columns present"


def test_renamed_column(project: Path) -> None:
    def rename(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        return ([("radius_mean" if h == "mean_radius" else h) for h in header],
                [{("radius_mean" if k == "mean_radius" else k): v for k, v in r.items()}
                 for r in rows])

    edit_csv(project.parent / "data/train.csv", rename)
    result = run(project)
    assert result.status == "fail"
    assert failed(result) == {
        "train.columns": "data/train.csv: missing column 'mean_radius'; not in the schema: "
                         "'radius_mean'",
    }
    assert check(result, "train.types").status == "pass"


def test_retyped_column(project: Path) -> None:
    def retype(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        rows[16]["mean_texture"] = "abc"
        rows[40]["mean_texture"] = "high"
        rows[2]["label"] = "1.5"
        return header, rows

    edit_csv(project.parent / "data/test.csv", retype)
    result = run(project)
    assert failed(result) == {
        "test.types": "data/test.csv: column 'mean_texture' expected float, found text 'abc' at "
                      "row 17 (2 values); data/test.csv: column 'label' expected int, found "
                      "non-integer '1.5' at row 3 (1 value)",
    }


def test_nulls_beyond_the_limit(project: Path) -> None:
    def blank(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows[4:14]:
            row["mean_smoothness"] = ""
        return header, rows

    edit_csv(project.parent / "data/train.csv", blank)
    result = run(project)
    assert failed(result) == {
        "train.nulls": "data/train.csv: column 'mean_smoothness' is not nullable but has 10 nulls, "
                       "first at row 5",
        "train.null_fraction": "data/train.csv: null fraction of column 'mean_smoothness' 0.02933, "
                               "configured to fail when above 0",
    }


def test_nullable_column_still_bounded_by_null_fraction(project: Path) -> None:
    edit_spec(project, {"data.schema.mean_smoothness.nullable": True,
                        "data.checks.max_null_fraction": 0.05})

    def blank(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows[::5]:
            row["mean_smoothness"] = "NA"
        return header, rows

    edit_csv(project.parent / "data/test.csv", blank)
    result = run(project)
    assert failed(result) == {
        "test.null_fraction": "data/test.csv: null fraction of column 'mean_smoothness' 0.2018, "
                              "configured to fail when above 0.05",
    }


def test_shifted_feature_in_current(project: Path) -> None:
    def shift(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            row["mean_radius"] = f"{float(row['mean_radius']) + 5:.4f}"
        return header, rows

    edit_csv(project.parent / "data/current.csv", shift)
    result = run(project)
    problems = failed(result)
    assert list(problems) == ["drift.mean_radius"]
    assert re.fullmatch(r"mean_radius PSI (\d+\.\d+), configured to fail when above 0\.25",
                        problems["drift.mean_radius"])
    assert check(result, "drift.mean_radius").observed > 1.0  # type: ignore[operator]
    assert check(result, "drift.dataset").message == (
        "drifted feature fraction (1 of 30) 0.03333, configured to fail when above 0.3; "
        "drifted: mean_radius")


def test_a_drifted_feature_only_warns_when_configured(project: Path) -> None:
    edit_spec(project, {"data.drift.feature_severity": "warn"})

    def shift(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            row["mean_radius"] = f"{float(row['mean_radius']) + 5:.4f}"
        return header, rows

    edit_csv(project.parent / "data/current.csv", shift)
    result = run(project)
    assert failed(result) == {}
    assert re.fullmatch(r"mean_radius PSI (\d+\.\d+), configured to warn when above 0\.25",
                        check(result, "drift.mean_radius").message)
    assert check(result, "drift.mean_radius").status == "warn"
    assert check(result, "drift.dataset").message.endswith("; drifted: mean_radius")


@pytest.mark.parametrize(("method", "threshold", "label"), [
    ("ks", 0.001, "KS p-value"), ("wasserstein", 0.3, "Wasserstein (in reference sd)"),
    ("jensen_shannon", 0.25, "Jensen-Shannon distance"), ("chi2", 0.001, "chi-squared p-value")])
def test_every_method_flags_the_shift_only(project: Path, method: str, threshold: float,
                                           label: str) -> None:
    edit_spec(project, {"data.drift": {"method": method, "threshold": threshold,
                                       "max_drifted_features": 0.3}})
    assert failed(run(project)) == {}

    def shift(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            row["worst_texture"] = f"{float(row['worst_texture']) * 1.4:.4f}"
        return header, rows

    edit_csv(project.parent / "data/current.csv", shift)
    problems = failed(run(project))
    assert list(problems) == ["drift.worst_texture"]
    assert problems["drift.worst_texture"].startswith(f"worst_texture {label} ")


def test_dataset_drift_fraction(project: Path) -> None:
    def shift_many(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            for name in header[:12]:
                row[name] = f"{float(row[name]) * 1.5:.6f}"
        return header, rows

    edit_spec(project, {"data.schema.mean_area.max": 9000})
    edit_csv(project.parent / "data/current.csv", shift_many)
    result = run(project)
    summary = check(result, "drift.dataset")
    assert summary.status == "fail"
    assert summary.message.startswith(
        "drifted feature fraction (12 of 30) 0.4, configured to fail when above 0.3; drifted: "
        "mean_radius, mean_texture, mean_perimeter")


def test_out_of_range_and_not_allowed_values(project: Path) -> None:
    def corrupt(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        rows[9]["mean_radius"] = "72.5"
        rows[30]["mean_radius"] = "-1"
        rows[11]["label"] = "2"
        return header, rows

    edit_csv(project.parent / "data/current.csv", corrupt)
    assert failed(run(project)) == {
        "current.ranges": "data/current.csv: column 'mean_radius' has 1 values below min 0, first "
                          "-1 at row 31; column 'mean_radius' has 1 values above max 60, first "
                          "72.5 at row 10",
        "current.allowed": "data/current.csv: column 'label' has 1 values outside [0, 1], first 2 "
                           "at row 12",
    }


def test_duplicates_and_class_balance(project: Path) -> None:
    def damage(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        kept = [r for r in rows if r["label"] == "1"] + [r for r in rows if r["label"] == "0"][:20]
        return header, kept + kept[:10]

    edit_csv(project.parent / "data/train.csv", damage)
    _, rows = read_rows(project.parent / "data/train.csv")
    benign = sum(r["label"] == "1" for r in rows[:-10])
    result = run(project)
    problems = failed(result)
    assert problems["train.duplicates"] == (
        f"data/train.csv: duplicate row fraction {display_number(10 / len(rows))}, configured to fail "
        f"when above 0.01 (10 duplicate rows, first: row {len(rows) - 9} repeats row 1)")
    assert problems["train.class_balance"] == (
        f"data/train.csv: smallest class fraction (class '0') {display_number(20 / len(rows))}, "
        "configured to fail when below 0.2")
    assert benign + 20 == len(rows) - 10


def test_missing_current_file_and_no_current(project: Path) -> None:
    (project.parent / "data/current.csv").unlink()
    result = run(project)
    assert failed(result) == {"current.file": "data/current.csv: file not found"}
    assert check(result, "drift").message == "drift not checked: data/current.csv could not be read"
    edit_spec(project, {"data.current": REMOVE})
    result = run(project)
    assert failed(result) == {}
    assert check(result, "drift").status == "skip"
    assert check(result, "drift").message == (
        "no data.current in the spec: drift not checked (set it to a fresh batch to compare with "
        "data/train.csv)")


def test_extra_column_warns(project: Path) -> None:
    def add(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for index, row in enumerate(rows):
            row["request_id"] = str(index)
        return [*header, "request_id"], rows

    edit_csv(project.parent / "data/current.csv", add)
    result = run(project)
    assert result.status == "warn"
    assert check(result, "current.columns").message == (
        "data/current.csv: 1 column not in the schema: 'request_id'")


def test_parquet_gives_the_same_verdicts(project: Path) -> None:
    folder = project.parent / "data"
    for split in ("train", "test", "current"):
        pq.write_table(pcsv.read_csv(folder / f"{split}.csv"), folder / f"{split}.parquet")
    parquet_spec = project.parent / "parquet.yaml"
    parquet_spec.write_text(project.read_text())
    edit_spec(parquet_spec, {"data.format": "parquet", "data.train": "data/train.parquet",
                             "data.test": "data/test.parquet", "data.reference": "data/train.parquet",
                             "data.current": "data/current.parquet"})
    csv_result, parquet_result = run(project), run(parquet_spec)
    assert failed(parquet_result) == {}
    assert [(c.name, c.status, c.observed) for c in parquet_result.checks] == [
        (c.name, c.status, c.observed) for c in csv_result.checks]


def test_streaming_blocks_do_not_change_results(project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def damage(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        rows[250]["mean_area"] = "big"
        rows[300]["worst_area"] = ""
        return header, rows + rows[:3]

    edit_csv(project.parent / "data/train.csv", damage)
    whole = run(project)
    monkeypatch.setattr(datasets, "BLOCK_BYTES", 2048)
    monkeypatch.setattr(datasets, "BATCH_ROWS", 1)
    streamed = run(project)
    assert [c.model_dump() for c in streamed.checks] == [c.model_dump() for c in whole.checks]
    assert "found text 'big' at row 251" in failed(streamed)["train.types"]


def test_parts_read_in_parallel_do_not_change_results(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def damage(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        rows[20]["mean_area"] = "big"
        rows[300]["mean_area"] = "huge"
        rows[310]["worst_area"] = ""
        return header, rows + rows[200:205]

    edit_csv(project.parent / "data/train.csv", damage)
    whole = run(project)
    monkeypatch.setattr(datasets, "PART_BYTES", 3000)
    split = run(project)
    assert [c.model_dump() for c in split.checks] == [c.model_dump() for c in whole.checks]
    assert "found text 'big' at row 21 (2 values)" in failed(split)["train.types"]
    assert "first: row 342 repeats row 201" in failed(split)["train.duplicates"]


def test_categorical_and_bool_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = 600

    def write(path: Path, colours: list[str]) -> None:
        lines = ["size,colour,member,label"]
        for i in range(rows):
            lines.append(f"{rng.normal(10, 2):.4f},{colours[i % len(colours)]},"
                         f"{'true' if i % 2 else 'false'},{i % 2}")
        path.write_text("\n".join(lines) + "\n")

    (tmp_path / "data").mkdir()
    write(tmp_path / "data/train.csv", ["red", "green", "blue"])
    write(tmp_path / "data/test.csv", ["red", "green", "blue"])
    write(tmp_path / "data/current.csv", ["red", "red", "red", "purple", "green", "blue"])
    spec = tmp_path / "mlops.yaml"
    spec.write_text(
        "version: 1\nname: shapes\ndata:\n  train: data/train.csv\n  test: data/test.csv\n"
        "  current: data/current.csv\n  target: label\n  schema:\n"
        "    size: {dtype: float}\n    colour: {dtype: category, allowed: [red, green, blue]}\n"
        "    member: {dtype: bool}\n    label: {dtype: int, allowed: [0, 1]}\n"
        "  drift: {method: ks, threshold: 0.01}\n"
        "model: {task: binary_classification, artifact: m.onnx}\n"
        "deploy: {image: ghcr.io/acme/shapes, environments: [{name: dev, namespace: dev}]}\n")
    result = run(spec)
    problems = failed(result)
    assert problems["current.allowed"] == (
        "data/current.csv: column 'colour' has 100 values outside [red, green, blue], first "
        "'purple' at row 4")
    assert re.fullmatch(r"colour chi-squared p-value [0-9.e-]+, configured to fail when below "
                        r"0\.01", problems["drift.colour"])
    assert check(result, "drift.member").status == "pass"
    assert check(result, "drift.size").status == "pass"
