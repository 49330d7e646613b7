"""The model gate reads its test split batch by batch: the checks do not depend on how the rows are
cut into files, row groups and batches; only one batch of features is held at a time; and a
problem in the data found in the last batch is still the one reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops.core.columns import concat
from mlops.harness.data import datasets
from mlops.harness.data.frames import read_split
from mlops.harness.gate import GateOptions
from mlops.harness.model import sample
from mlops.harness.model.gate import GATE
from mlops.harness.model.loading import load_model
from mlops.harness.model.scoring import evaluate, score_split
from mlops.harness.model.testset import read_chunks
from mlops.harness.result import CheckResult
from mlops.spec.loader import load_spec
from tests.harness.model.test_model_gate_columns import project
from tests.harness.model_helpers import checks, commit_all, linear_softmax, run
from tests.specs import edit_spec, write_spec

TOLERANCE = 1e-9
"""Metrics summed over rows in another order may differ in the last bits; nothing else may."""
SIZES = (70, 50, 80)
"""The churn project's 200 test rows as three files."""


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts, batches and the row sample small enough that 200 rows make many of each."""
    monkeypatch.setattr(datasets, "PART_ROWS", 32)
    monkeypatch.setattr(datasets, "PARQUET_BATCH_ROWS", 16)
    monkeypatch.setattr(datasets, "BATCH_ROWS", 16)
    monkeypatch.setattr(sample, "SAMPLE_ROWS", 50)


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project (strings, nulls, slices, a group gap, sklearn parity; its test split one
    CSV file, read as one batch) committed, with its own model as the git baseline, and its test
    split also as three Parquet files of 16-row row groups."""
    folder = tmp_path_factory.mktemp("churn")
    spec = project(folder, {"model.baseline": {"ref": "main"},
                            "metrics.no_regression": {"accuracy": 0.01}})
    commit_all(folder)
    table = read_split(load_spec(spec), "test.csv")
    pq.write_table(table, folder / "one.parquet")
    (folder / "parts").mkdir()
    offset = 0
    for index, rows in enumerate(SIZES):
        pq.write_table(table.slice(offset, rows), folder / "parts" / f"part-{index}.parquet",
                       row_group_size=16)
        offset += rows
    return spec


def _variant(spec: Path, test: str) -> Path:
    copy = spec.with_name(f"mlops-{test.replace('.', '-')}.yaml")
    copy.write_text(spec.read_text())
    edit_spec(copy, {"data.format": "parquet", "data.train": "one.parquet", "data.test": test})
    return copy


def _same(one: CheckResult, other: CheckResult) -> None:
    assert (one.status, one.message, one.threshold) == (other.status, other.message, other.threshold)
    for first, second in ((one.observed, other.observed), (one.baseline, other.baseline)):
        assert (first is None) == (second is None)
        if first is not None and second is not None:
            assert first == pytest.approx(second, abs=TOLERANCE, nan_ok=True)
    assert one.details.keys() == other.details.keys()


@pytest.mark.slow
@pytest.mark.usefixtures("small_batches")
def test_checks_do_not_depend_on_how_the_split_is_cut(churn: Path) -> None:
    whole, cut = run(GATE, churn), run(GATE, _variant(churn, "parts"))
    found, other = checks(whole), checks(cut)
    assert list(found) == list(other)
    for name, check in found.items():
        _same(check, other[name])
    groups, cut_groups = (found["group_gap[plan].accuracy"].details["groups"],
                          other["group_gap[plan].accuracy"].details["groups"])
    assert groups == pytest.approx(cut_groups, abs=TOLERANCE)
    assert found["no_regression.accuracy"].status == "pass"
    assert ", same test rows)" in found["no_regression.accuracy"].message
    assert found["parity.max_abs_diff"].message.startswith(
        "largest ONNX vs sklearn probability difference (50 of 200 test rows, sampled) ")
    assert "flipped; rows drawn from 50 of 200 test rows, sampled) " in (
        found["robustness.noise_flips"].message)
    assert whole.charts["confusion_matrix"] == cut.charts["confusion_matrix"]


@pytest.mark.usefixtures("small_batches")
def test_the_sample_is_the_same_rows_however_the_split_is_cut(churn: Path) -> None:
    loaded = [load_spec(churn), load_spec(_variant(churn, "parts"))]
    scored = [score_split(spec, load_model(spec), None, []) for spec in loaded]
    assert scored[0].largest_batch == 200 and scored[1].largest_batch == 16
    np.testing.assert_array_equal(scored[0].sample_index, scored[1].sample_index)
    assert len(scored[0].sample_index) == 50
    for name, values in scored[0].sample.items():
        np.testing.assert_array_equal(values, scored[1].sample[name])


WIDTH = 120
ROWS = 600


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 rows of 120 float features and a segment code, in 50-row row groups, and a linear
    model over them (the segment's weight 0)."""
    folder = tmp_path_factory.mktemp("wide")
    generator = np.random.default_rng(0)
    features = generator.normal(size=(ROWS, WIDTH))
    weights = np.zeros((WIDTH + 1, 2))
    weights[:WIDTH, 1] = generator.normal(size=WIDTH)
    label = (features @ weights[:WIDTH, 1] + generator.normal(scale=2.0, size=ROWS) > 0).astype(int)
    columns = {f"f{i}": pa.array(features[:, i]) for i in range(WIDTH)}
    columns["segment"] = pa.array(np.arange(ROWS) % 3, pa.int64())
    columns["label"] = pa.array(label, pa.int64())
    pq.write_table(pa.table(columns), folder / "test.parquet", row_group_size=50)
    linear_softmax(folder, weights.astype(np.float32), np.zeros(2, np.float32))
    schema = {name: {"dtype": "float"} for name in columns if name.startswith("f")}
    schema |= {"segment": {"dtype": "int"}, "label": {"dtype": "int"}}
    return write_spec(folder / "mlops.yaml", {
        "version": 1, "name": "wide",
        "data": {"train": "test.parquet", "test": "test.parquet", "format": "parquet",
                 "target": "label", "schema": schema},
        "model": {"task": "binary_classification", "artifact": "models/model.onnx",
                  "baseline": None},
        "metrics": {"accuracy": ">= 0.6",
                    "slices": [{"by": "segment == 1", "metric": "accuracy", "threshold": ">= 0.5"}],
                    "robustness": {"examples": 20, "noise": 0.01, "max_flip_fraction": 0.5}},
        "deploy": {"image": "localhost/wide", "environments": [{"name": "t", "namespace": "t"}]},
    })


def test_one_batch_of_features_is_held_at_a_time(wide: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "PART_ROWS", 100)
    monkeypatch.setattr(datasets, "PARQUET_BATCH_ROWS", 50)
    monkeypatch.setattr(datasets, "BATCH_ROWS", 50)
    loaded = load_spec(wide)
    model = load_model(loaded)
    scored = score_split(loaded, model, None, ["segment"], sample_rows=64)
    # the gate's own bookkeeping: features of one 50-row batch (a part is 100 rows) at a time,
    # the sample's 64 rows, and per row only the target, the scores and the slice column
    assert scored.largest_batch == 50
    assert len(scored.sample_index) == 64 and len(scored.sample["f0"]) == 64
    assert list(scored.columns) == ["segment"]
    assert scored.outputs.proba is not None and scored.outputs.proba.shape == (ROWS, 2)
    # the same outputs as the whole split scored at once
    features = concat([chunk.columns for chunk in read_chunks(loaded, loaded.spec.data.features)])
    at_once = evaluate(model, features).proba
    assert at_once is not None
    np.testing.assert_allclose(scored.outputs.proba, at_once, rtol=0.0, atol=1e-6)
    np.testing.assert_array_equal(scored.target,
                                  pq.read_table(wide.parent / "test.parquet")["label"].to_numpy())
    found = checks(GATE.run(loaded, GateOptions()))
    assert found["accuracy"].status == "pass"
    assert found["robustness.batch_invariance"].message.endswith(
        "(hypothesis; test rows drawn from 600 test rows)")


@pytest.mark.parametrize(("edit", "message"), [
    ({"age": "abc"}, "parts: column 'age' expected float, found text 'abc' at row 30 of "
                     "parts/part-2.csv (1 value) (see the data gate)"),
    ({"churned": ""}, "parts has rows without a target (churned); the model gate needs a label "
                      "for every test row"),
    ({"churned": "maybe"}, "parts has target values maybe not in model.labels"),
])
def test_a_problem_in_the_last_file_is_reported_first(tmp_path: Path, edit: dict[str, str],
                                                      message: str) -> None:
    """The model scores the first files before the reader finds the last file's problem: the data
    problem is what the gate reports, as when the split was read whole before any model ran."""
    spec = project(tmp_path, {"model.labels": ["no", "yes"]})
    lines = (tmp_path / "test.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "part-1.csv").write_text("\n".join([header, *rows[:100]]) + "\n")
    names = header.split(",")
    last = rows[100:]
    cells = last[29].split(",")
    for column, value in edit.items():
        cells[names.index(column)] = value
    last[29] = ",".join(cells)
    (tmp_path / "parts" / "part-2.csv").write_text("\n".join([header, *last]) + "\n")
    edit_spec(spec, {"data.test": "parts"})
    result = run(GATE, spec)
    assert [(c.name, c.status, c.message) for c in result.checks] == [("inputs", "error", message)]
