"""Specs written the way teams share blocks: anchors, aliases, `<<` merge keys and `x-` keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.spec.errors import SpecError
from mlops.spec.loader import LoadedSpec, validate_text
from mlops.spec.models import Spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "broken_specs"

SHARED = """\
version: 1
name: tiny
x-sizes:
  small: &small {cpu: 250m, memory: 256Mi}
  large: &large {cpu: "2", memory: 4Gi}
data:
  train: data/train.csv
  test: data/test.csv
  target: label
  schema:
    x1: {dtype: float, min: 0, max: 10}
    x-ray: {dtype: float}
    label: {dtype: int, allowed: [0, 1]}
model:
  task: binary_classification
  artifact: models/model.onnx
  train: python train.py
deploy:
  image: ghcr.io/acme/tiny
  x-defaults: &defaults
    replicas: 2
    resources: *small
    rollout: {strategy: rolling}
  environments:
    - <<: *defaults
      name: staging
      namespace: ml-staging
    - <<: *defaults
      name: production
      namespace: ml-production
      resources: *large
      replicas: 4
monitors:
  x-note: the monitor runs hourly
  on_alert: [open_issue]
"""


def _load(text: str) -> LoadedSpec:
    return validate_text(text, FIXTURES / "mlops.yaml", display="mlops.yaml")


def test_anchors_merge_keys_and_x_keys_load() -> None:
    loaded = _load(SHARED)
    staging, production = loaded.spec.deploy.environments
    assert (staging.replicas, staging.resources.cpu, staging.resources.memory) == (2, "250m", "256Mi")
    assert (production.replicas, production.resources.cpu) == (4, "2")
    assert production.rollout.strategy == "rolling"


def test_x_keys_are_dropped_from_sections_but_not_from_data() -> None:
    spec = _load(SHARED).spec
    assert "x-ray" in spec.data.columns  # a column, not an extension key
    assert spec.data.features == ["x1", "x-ray"]


def test_a_merged_value_is_located_where_it_is_written() -> None:
    with pytest.raises(SpecError) as raised:
        _load(SHARED.replace("memory: 256Mi", "memory: 256MB"))
    assert str(raised.value) == (
        "mlops.yaml:4:37: deploy.environments[0].resources.memory: expected a memory quantity "
        "like '512Mi' or '2Gi', got '256MB'")


def test_only_x_keys_are_extensions() -> None:
    with pytest.raises(SpecError) as raised:
        _load(SHARED.replace("x-note:", "x_note:"))
    assert str(raised.value) == "mlops.yaml:34:3: monitors.x_note: unknown key 'x_note'"


def test_the_json_schema_lets_editors_accept_x_keys() -> None:
    schema = Spec.model_json_schema()
    assert schema["patternProperties"] == {"^x-": {}}
    assert schema["$defs"]["Deploy"]["patternProperties"] == {"^x-": {}}
    assert schema["$defs"]["Monitors"]["properties"]["on_alert"]["uniqueItems"] is True
