"""The commented starter spec `mlops init` writes without a team's files, one per task (with
`--data`, `--model` and `--target` it infers the spec instead: `harness.init`)."""

from __future__ import annotations

_METRICS = {
    "binary_classification": '  accuracy: ">= 0.90"\n  f1: ">= 0.90"\n  roc_auc: ">= 0.95"\n'
                             "  no_regression: {f1: 0.01}       # may not drop more than this vs"
                             " the baseline\n",
    "multiclass_classification": '  accuracy: ">= 0.90"\n  f1_macro: ">= 0.88"\n'
                                 "  no_regression: {f1_macro: 0.01}\n",
    "regression": '  rmse: "<= 1.0"\n  r2: ">= 0.8"\n  no_regression: {rmse: 0.05}  '
                  "   # may not rise more than this vs the baseline\n",
}
_TARGET = {
    "binary_classification": "label: {dtype: int, allowed: [0, 1]}",
    "multiclass_classification": "label: {dtype: int, allowed: [0, 1, 2]}",
    "regression": "target: {dtype: float}",
}


def starter_spec(task: str, name: str) -> str:
    """A minimal, valid-once-the-files-exist spec with every section explained."""
    target = _TARGET[task].split(":")[0]
    return f"""\
# yaml-language-server: $schema=generated/mlops.schema.json
# mlops.yaml: one file for data, model, gates, serving, deployment and monitoring.
# Check it with `mlops validate`; derive pipelines and manifests with `mlops compile`.
# A generic starter: `mlops init --data TRAIN --model MODEL.onnx --target LABEL` writes one
# inferred from your own data and model instead.
version: 1
name: {name}

data:
  format: csv                     # csv | parquet
  train: data/train.csv
  test: data/test.csv
  current: data/current.csv       # optional: a fresh batch checked for drift
  target: {target}
  schema:                         # every model input in order, then the target
    feature_a: {{dtype: float, min: 0, max: 100}}
    feature_b: {{dtype: float, nullable: false}}
    {_TARGET[task]}
  checks: {{min_rows: 100, max_null_fraction: 0.0, max_duplicate_fraction: 0.01}}
  drift: {{method: psi, threshold: 0.2, max_drifted_features: 0.3}}

model:
  task: {task}
  artifact: models/model.onnx     # float input [batch, n_features]
  train: python train.py          # command that (re)produces the artifact
  baseline: {{ref: origin/main}}    # no-regression compares against the model on this ref
  # reproducible: true            # the model gate retrains from the commit: same ONNX bytes

metrics:                          # pass conditions: OP NUMBER
{_METRICS[task]}
benchmark:
  batch_sizes: [1, 64]
  thresholds: {{p95_ms@1: "< 5"}}

load:
  users: 10
  duration: 20s
  thresholds: {{p95_ms: "< 100", error_rate: "< 0.01"}}

serving: {{port: 8080, max_batch_size: 32, max_batch_delay_ms: 2}}

deploy:
  image: ghcr.io/your-org/{name}
  environments:
    - {{name: staging, namespace: {name}-staging, replicas: 2}}

monitors:
  schedule: "0 * * * *"
  drift: {{method: psi, threshold: 0.2}}
  on_alert: [open_issue]
"""
