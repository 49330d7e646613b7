"""The benchmark gate with real onnxruntime timings: thresholds, and the candidate against the
baseline model committed in git, timed interleaved in the same run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlops.harness.bench.gate import GATE, input_rows
from mlops.spec.loader import load_spec
from tests.harness.model_helpers import checks, commit_all, project, run, train
from tests.specs import edit_spec

FAST = {"benchmark.warmup": 5, "benchmark.iterations": 60}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    spec = project(tmp_path / "repo")
    edit_spec(spec, {"model.baseline": {"ref": "main"}, "benchmark.max_slowdown": 2.0, **FAST})
    commit_all(spec.parent)
    return spec


def test_clean_example_passes_and_matches_its_baseline(repo: Path) -> None:
    result = run(GATE, repo)
    found = checks(result)
    assert not [c.message for c in result.checks if c.failed]
    assert {"p95_ms@1", "rows_per_s@64", "slowdown@1", "slowdown@64", "model_size"} <= set(found)
    assert 0.3 < found["slowdown@1"].observed < 2.0  # same model: a ratio near 1
    assert found["model_size"].observed == (repo.parent / "models/model.onnx").stat().st_size
    assert result.charts["latency@1"]["labels"] == ["p50_ms", "p95_ms", "p99_ms", "mean_ms"]
    assert result.charts["latency@1"]["slo"] == {"p95_ms": 5.0}


def test_a_much_slower_model_fails_against_the_baseline(repo: Path) -> None:
    # 300 trees vs one logistic regression: ~17x at batch 64 here (at batch 1 onnxruntime's
    # per-call overhead dominates both, so the ratio there is small)
    train(repo.parent, forest=300)
    found = checks(run(GATE, repo))
    check = found["slowdown@64"]
    assert check.status == "fail"
    assert check.observed > 4.0
    assert check.message.startswith("p50 latency at batch 64 relative to the baseline at main (")
    assert check.message.endswith(" x, configured to fail when above 2 x")
    assert found["model_size"].baseline is not None
    assert found["model_size"].observed > 10 * found["model_size"].baseline


def test_latency_threshold_failure_names_the_statistic_and_batch(repo: Path) -> None:
    edit_spec(repo, {"benchmark.thresholds": {"p99_ms@64": "< 0.001"}})
    check = checks(run(GATE, repo))["p99_ms@64"]
    assert check.status == "fail"
    assert check.message.startswith("p99 latency at batch 64 ")
    assert check.message.endswith(" ms, configured to fail when at or above 0.001 ms")


def test_without_a_baseline_the_slowdown_is_a_skip(tmp_path: Path) -> None:
    spec = project(tmp_path / "plain")
    edit_spec(spec, {"benchmark.max_slowdown": 2.0, **FAST})
    check = checks(run(GATE, spec))["slowdown"]
    assert check.status == "skip"
    assert check.message == ("the spec's folder is in no git repository, so no baseline at "
                             "origin/main; slowdown not measured")  # fmt: skip


def test_missing_artifact_is_an_error(tmp_path: Path) -> None:
    spec = project(tmp_path / "plain")
    (spec.parent / "models" / "model.onnx").unlink()
    result = run(GATE, spec)
    assert [(c.status, c.message) for c in result.checks] == [
        ("error", "model artifact models/model.onnx not found; run model.train")
    ]


def test_the_timed_rows_are_the_splits_first_rows_read_no_further_than_needed(tmp_path: Path) -> None:
    """A bad value in a later file does not matter to timing: the bench reads the first rows and
    stops (reading on would have found it and fallen back to made-up rows)."""
    spec = project(tmp_path / "parts")
    data = spec.parent / "data"
    lines = (data / "test.csv").read_text().splitlines()
    parts = data / "test_parts"
    parts.mkdir()
    (parts / "a.csv").write_text("\n".join(lines[:11]) + "\n")
    first, *rest = lines[11:]
    (parts / "b.csv").write_text("\n".join([lines[0], "oops" + first[first.index(","):], *rest]) + "\n")
    edit_spec(spec, {"data.test": "data/test_parts", **FAST})
    rows = input_rows(load_spec(spec), 8)
    expected = pd.read_csv(parts / "a.csv").head(8)
    assert {name: values.tolist() for name, values in rows.items()} == {
        name: expected[name].tolist() for name in rows}
