"""Baselines read from real git repositories: no-regression compares the candidate with the model
committed at the ref on the same test rows; a missing repository, ref or file is a skip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops.harness.baseline import BaselineUnavailable, read_baseline
from mlops.harness.model.gate import GATE
from tests.harness.model_helpers import checks, commit_all, project, run, train
from tests.specs import edit_spec

QUICK = {"metrics.robustness": {"examples": 20}}  # robustness is tested in test_model_gate


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example committed on main; no_regression against `main`."""
    spec = project(tmp_path / "repo")
    edit_spec(spec, {"model.baseline": {"ref": "main"}, **QUICK})
    commit_all(spec.parent)
    return spec


def test_read_baseline_returns_the_committed_bytes(repo: Path) -> None:
    (repo.parent / "models" / "model.onnx").write_bytes(b"changed in the working tree")
    found = read_baseline(repo.parent, "main", "models/model.onnx", "models/absent.json")
    assert found.model is not None and found.model.startswith(b"\x08")  # the committed protobuf
    assert found.metrics is None
    assert found.missing == (f"models/absent.json is not committed at main ({found.commit[:7]})",)


def test_unchanged_model_passes_no_regression(repo: Path) -> None:
    found = checks(run(GATE, repo))
    check = found["no_regression.f1"]
    assert check.status == "pass", check.message
    assert check.observed == check.baseline
    assert "(baseline model at main (" in check.message and ", same test rows)" in check.message
    assert found["f1"].baseline == found["f1"].observed  # thresholds carry the baseline value


def test_a_model_worse_than_the_baseline_fails_no_regression(repo: Path) -> None:
    train(repo.parent, label_noise=0.3)  # uncommitted candidate, worse than main's model
    found = checks(run(GATE, repo))
    check = found["no_regression.f1"]
    assert check.status == "fail"
    assert check.baseline is not None and check.observed < check.baseline - 0.02
    assert check.message.startswith("F1 dropped ")
    assert check.message.endswith("configured to fail when it dropped more than 0.02")
    assert found["no_regression.roc_auc"].message.startswith("ROC AUC ")


def test_missing_ref_is_a_skip_saying_so(repo: Path) -> None:
    edit_spec(repo, {"model.baseline": {"ref": "origin/main"}})
    check = checks(run(GATE, repo))["no_regression.f1"]
    assert check.status == "skip"
    assert check.message == "no baseline F1: git ref 'origin/main' does not exist in this repository"


def test_no_repository_is_a_skip(tmp_path: Path) -> None:
    spec = project(tmp_path / "plain")
    check = checks(run(GATE, spec))["no_regression.f1"]
    assert check.status == "skip"
    assert check.message == ("no baseline F1: the spec's folder is in no git repository, so no "
                             "baseline at origin/main")  # fmt: skip
    with pytest.raises(BaselineUnavailable, match="in no git repository"):
        read_baseline(spec.parent, "main", "models/model.onnx")


def test_model_not_committed_at_the_ref_is_a_skip(tmp_path: Path) -> None:
    spec = project(tmp_path / "repo")
    edit_spec(spec, {"model.baseline": {"ref": "main"}})
    models = spec.parent / "models"
    shutil.move(models, tmp_path / "aside")
    commit_all(spec.parent)  # main holds no model yet: a first release
    shutil.move(tmp_path / "aside", models)
    check = checks(run(GATE, spec))["no_regression.f1"]
    assert check.status == "skip"
    assert check.message.startswith("no baseline F1: models/model.onnx is not committed at main (")


def test_metrics_file_at_the_ref_is_the_baseline_without_a_model(tmp_path: Path) -> None:
    spec = project(tmp_path / "repo")
    edit_spec(spec, {"model.baseline": {"ref": "main", "metrics": "baseline.json"},
                     "metrics.no_regression": {"f1": 0.005, "roc_auc": 0.01}})
    (spec.parent / "baseline.json").write_text(json.dumps({"metrics": {"f1": 0.999}}))
    models = spec.parent / "models"
    shutil.move(models, tmp_path / "aside")
    commit_all(spec.parent)
    shutil.move(tmp_path / "aside", models)
    found = checks(run(GATE, spec))
    assert found["no_regression.f1"].status == "fail"
    assert found["no_regression.f1"].baseline == 0.999
    assert "(metrics file baseline.json at main (" in found["no_regression.f1"].message
    assert found["no_regression.roc_auc"].status == "skip"
    assert found["no_regression.roc_auc"].message.endswith("has no roc_auc")
