"""Cross-field rules, checked on the suite's breast-cancer spec (`tests.specs`) with one change
each; the files it names are the repository's (data/, models/)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.spec.models import Spec
from mlops.spec.semantic import check, metric_fits_task, parse_bench_key
from tests.specs import breast_cancer, changed

ROOT = Path(__file__).resolve().parents[2]


def _spec(changes: Mapping[str, Any] | None = None) -> Spec:
    return Spec.model_validate(changed(breast_cancer(), changes or {}))


def _messages(spec: Spec) -> list[str]:
    return [message for _, message in check(spec, ROOT) if not message.startswith("file not found")]


def test_the_example_has_no_findings() -> None:
    assert _messages(_spec()) == []


def test_benchmark_batch_must_be_measured() -> None:
    assert _messages(_spec({"benchmark.thresholds": {"p95_ms@8": "< 5"}})) == [
        "batch size 8 is not in benchmark.batch_sizes (1, 64)"]
    assert "expected 'STAT@BATCH'" in _messages(_spec({"benchmark.thresholds": {"p95@1": "< 5"}}))[0]


def test_gitops_needs_a_repository() -> None:
    assert _messages(_spec({"deploy.repository": None})) == [
        "gitops: argocd needs the Git URL the controller syncs from"]


def test_canary_steps_must_end_at_100() -> None:
    spec = _spec({"deploy.environments.1.rollout": {"strategy": "canary", "steps": [50, 20]}})
    assert _messages(spec) == ["expected increasing percentages ending at 100, got [50, 20]"]


def test_spawn_rate_above_users() -> None:
    assert _messages(_spec({"load.spawn_rate": 100})) == ["spawn_rate (100) is more than users (16)"]


def test_drift_feature_suggestion() -> None:
    assert _messages(_spec({"data.drift": {"features": ["mean_radus"]}})) == [
        "column 'mean_radus' is not in data.schema; did you mean 'mean_radius'?"]


def test_metric_task_fit() -> None:
    assert metric_fits_task("roc_auc", "multiclass_classification") == (
        "'roc_auc' needs a positive class; for multiclass use 'f1_macro' or 'accuracy'")
    assert metric_fits_task("f1", "multiclass_classification") == (
        "'f1' needs a positive class; for multiclass use 'f1_macro' or 'f1_weighted'")
    assert metric_fits_task("r2", "binary_classification") == (
        "'r2' is a regression metric; this model's task is binary_classification")
    assert metric_fits_task("accuracy", "multiclass_classification") is None


def test_parsers() -> None:
    assert parse_bench_key("rows_per_s@64") == ("rows_per_s", 64)


def test_slices_must_fit_their_column() -> None:
    def slices(*filters: str) -> list[str]:
        items = [{"by": by, "metric": "accuracy", "threshold": ">= 0.5"} for by in filters]
        return _messages(_spec({"metrics.slices": items}))

    assert slices("mean_radius > 15", "label in [0, 1]") == []
    assert slices("mean_radius == 'big'", "label == 3", "mean_radious > 1") == [
        "'mean_radius' is a numeric column (float); compare it with numbers: "
        "mean_radius == 'big' cannot match",
        "3 is not an allowed value of 'label' (allowed: 0, 1)",
        "column 'mean_radious' is not in data.schema; did you mean 'mean_radius'?",
    ]


def test_null_value_only_for_nullable_text_columns() -> None:
    assert _messages(_spec({"data.schema.mean_radius.null_value": "?"})) == [
        "null_value is what a null of a nullable str or category column becomes; this column "
        "is not one"]


def test_robustness_perturb_names_features() -> None:
    assert _messages(_spec({"metrics.robustness": {"perturb": {"mean_radius": "keep",
                                                            "mean_radus": "swap"}}})) == [
        "'mean_radus' is not a model feature; did you mean 'mean_radius'?"]
