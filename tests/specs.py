"""Specs as data: the suite's own breast-cancer spec, changes by key path, and YAML out.

A test builds the spec it needs from data, `changed(breast_cancer(), {"load.users": 30})`, and
writes it (`write_spec`), or edits a spec file it wrote or copied by key path (`edit_spec`),
instead of replacing text in the repository's example mlops.yaml: the test says what it changes,
and it does not break when the example's wording, layout or values change.

A key path is dotted, with list indexes as numbers (`deploy.environments.1.rollout`); a value
of `REMOVE` deletes the key or list item; mappings missing on the way are created.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping, MutableMapping, MutableSequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REMOVE: Any = object()
"""A change's value that deletes its key (or list item) instead of setting it."""

BREAST_CANCER_FEATURES: dict[str, float] = {
    "mean_radius": 60, "mean_texture": 80, "mean_perimeter": 400, "mean_area": 5000,
    "mean_smoothness": 1, "mean_compactness": 1, "mean_concavity": 1, "mean_concave_points": 1,
    "mean_symmetry": 1, "mean_fractal_dimension": 1, "radius_error": 10, "texture_error": 10,
    "perimeter_error": 50, "area_error": 1000, "smoothness_error": 1, "compactness_error": 1,
    "concavity_error": 1, "concave_points_error": 1, "symmetry_error": 1,
    "fractal_dimension_error": 1, "worst_radius": 80, "worst_texture": 100, "worst_perimeter": 500,
    "worst_area": 10000, "worst_smoothness": 1, "worst_compactness": 3, "worst_concavity": 3,
    "worst_concave_points": 1, "worst_symmetry": 2, "worst_fractal_dimension": 1,
}  # fmt: skip
"""The 30 features of scikit-learn's breast-cancer data (the example's data/), in column order,
with the largest value each may take (the smallest is 0)."""


def breast_cancer() -> dict[str, Any]:
    """A fresh copy of the breast-cancer spec the suite tests against: the data in data/, the
    model in models/ (both the example's), every section set as a team would set it."""
    schema: dict[str, Any] = {name: {"dtype": "float", "min": 0, "max": top}
                              for name, top in BREAST_CANCER_FEATURES.items()}
    schema["label"] = {"dtype": "int", "allowed": [0, 1], "description": "0 malignant, 1 benign"}
    return {
        "version": 1,
        "name": "breast-cancer",
        "description": "Benign (1) vs malignant (0) tumours from scikit-learn's bundled Wisconsin data set.",
        "data": {
            "format": "csv", "train": "data/train.csv", "test": "data/test.csv",
            "reference": "data/train.csv", "current": "data/current.csv", "target": "label",
            "schema": schema,
            "checks": {"min_rows": 100, "max_null_fraction": 0.0, "max_duplicate_fraction": 0.01,
                       "min_class_fraction": 0.2},
            "drift": {"method": "psi", "threshold": 0.25, "max_drifted_features": 0.3},
        },
        "model": {
            "task": "binary_classification", "artifact": "models/model.onnx",
            "train": "python examples/breast_cancer/train.py",
            "source": {"framework": "sklearn", "path": "models/model.joblib"},
            "baseline": {"ref": "origin/main"}, "labels": ["malignant", "benign"],
        },
        "metrics": {
            "accuracy": ">= 0.93", "f1": ">= 0.93", "roc_auc": ">= 0.97",
            "log_loss": {"expr": "<= 0.2", "severity": "warn"},
            "no_regression": {"f1": 0.02, "roc_auc": 0.01},
            "slices": [{"by": "mean_radius > 15", "metric": "accuracy", "threshold": ">= 0.9"},
                       {"by": "mean_radius <= 15", "metric": "recall", "threshold": ">= 0.9"}],
            "parity": {"atol": 0.0001, "max_mismatch_fraction": 0.0},
            "robustness": {"examples": 200, "noise": 0.01, "max_flip_fraction": 0.05, "seed": 0},
        },
        "benchmark": {"batch_sizes": [1, 64], "threads": 1,
                      "thresholds": {"p95_ms@1": "< 5", "rows_per_s@64": "> 20000"},
                      "max_slowdown": 2.0},
        "load": {"users": 16, "spawn_rate": 8, "duration": "15s", "workers": 0,
                 "thresholds": {"p95_ms": "< 100", "p99_ms": "< 250", "error_rate": "< 0.01",
                                "rps": "> 100"}},
        "serving": {"port": 8080, "workers": 1, "max_batch_size": 32, "max_batch_delay_ms": 2,
                    "request_log": {"path": "/var/log/mlops", "sample_rate": 0.1,
                                    "format": "jsonl", "claim": "breast-cancer-requests"}},
        "deploy": {
            "image": "ghcr.io/acme/breast-cancer", "gitops": "argocd",
            "repository": "https://github.com/acme/breast-cancer.git",
            "environments": [
                {"name": "staging", "namespace": "ml-staging", "replicas": 2,
                 "resources": {"cpu": "500m", "memory": "512Mi"},
                 "autoscale": {"min": 2, "max": 6, "cpu_percent": 70}},
                {"name": "production", "namespace": "ml-prod", "replicas": 3,
                 "resources": {"cpu": "1", "memory": "1Gi"},
                 "autoscale": {"min": 3, "max": 10, "cpu_percent": 65}, "approval": "required",
                 "rollout": {"strategy": "canary", "steps": [10, 50, 100], "pause": "2m"}},
            ],
        },
        "monitors": {
            "schedule": "0 * * * *", "window": "1h",
            "drift": {"method": "psi", "threshold": 0.25, "max_drifted_features": 0.3},
            "latency": {"p95_ms": 50}, "error_rate": {"max": 0.01},
            "performance": {"metric": "accuracy", "min": 0.9, "labels": "data/feedback.csv",
                            "claim": "breast-cancer-feedback"},
            "on_alert": ["open_issue", "retrain"],
            "pushgateway": "http://prometheus-pushgateway.monitoring.svc:9091",
        },
        "install": {"requirements": ["examples/breast_cancer/requirements.txt"]},
        "ci": {"provider": "github", "python": "3.11", "pr_comment": True},
        "checks": {"path": "checks"},
    }


def changed(spec: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `spec` with `changes` applied (see the module docstring)."""
    result = copy.deepcopy(dict(spec))
    apply(result, changes)
    return result


def apply(document: MutableMapping[str, Any], changes: Mapping[str, Any]) -> None:
    """Set (or REMOVE) each key path of `changes` in `document`, in place."""
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = document
        for key in parents:
            node = node[int(key)] if isinstance(node, MutableSequence) else node.setdefault(key, {})
        if isinstance(node, MutableSequence):
            if value is REMOVE:
                del node[int(last)]
            else:
                node[int(last)] = value
        elif value is REMOVE:
            assert last in node, f"{path}: nothing to remove"
            del node[last]
        else:
            node[last] = value


def spec_yaml(spec: Mapping[str, Any]) -> str:
    """`spec` as block-style YAML, keys in their order."""
    out = io.StringIO()
    _yaml().dump(dict(spec), out)
    return out.getvalue()


def write_spec(path: Path, spec: Mapping[str, Any]) -> Path:
    """Write `spec` as YAML to `path` (a folder gets `mlops.yaml`); returns the file."""
    if path.is_dir():
        path = path / "mlops.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_yaml(spec))
    return path


def edit_spec(path: Path, changes: Mapping[str, Any]) -> Path:
    """Apply `changes` to the spec file at `path` in place, keeping its comments and layout
    elsewhere (ruamel's round trip); returns `path`."""
    yaml = _yaml()
    document = yaml.load(path.read_text())
    apply(document, changes)
    with path.open("w") as handle:
        yaml.dump(document, handle)
    return path


def location(text: str, path: str) -> str:
    """'LINE:COL' (1-based) where the value at key path `path` starts in the YAML `text`: what a
    located spec error names, wherever the writer put the value and however it quoted it."""
    *parents, last = path.split(".")
    node: Any = _yaml().load(text)
    for key in parents:
        node = node[int(key)] if isinstance(node, MutableSequence) else node[key]
    in_list = isinstance(node, MutableSequence)  # node stays Any: ruamel's .lc is untyped
    line, column = node.lc.item(int(last)) if in_list else node.lc.value(last)
    return f"{line + 1}:{column + 1}"


def _yaml() -> YAML:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # one line per value: a long description stays one scalar
    return yaml
