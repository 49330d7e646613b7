"""`model.reproducible`: the shorthand, the defaults, and the located error without model.train;
`mlops validate` says it as a user sees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from mlops.spec.errors import SpecError
from mlops.spec.loader import validate_text
from mlops.spec.models import Model, Reproducible
from mlops.spec.schema import json_schema
from mlops.spec.starter import starter_spec
from tests.specs import REMOVE, breast_cancer, changed, location, spec_yaml

ROOT = Path(__file__).resolve().parents[2]
WITHOUT_TRAIN = {"model.train": REMOVE, "model.source": REMOVE,
                 "monitors.on_alert": ["open_issue"], "model.reproducible": True}


def _model(value: object) -> Model:
    return Model.model_validate({"task": "binary_classification", "artifact": "m.onnx",
                                 "reproducible": value})


@pytest.mark.parametrize(("value", "expected"), [
    (True, Reproducible()),
    (False, None),
    (None, None),
    ({"compare": "predictions", "atol": 0.001},
     Reproducible(compare="predictions", atol=0.001, max_mismatch_fraction=0.0)),
])
def test_true_is_short_for_bit_identical_bytes(value: object, expected: Reproducible | None) -> None:
    assert _model(value).reproducible == expected
    assert Reproducible().compare == "bytes"


@pytest.mark.parametrize("value", [True, False, {"compare": "predictions", "atol": 0.001}])
def test_the_schema_takes_what_the_models_take(value: object) -> None:
    jsonschema.validate(changed(breast_cancer(), {"model.reproducible": value}), json_schema())


def test_the_schema_refuses_an_unknown_comparison() -> None:
    spec = changed(breast_cancer(), {"model.reproducible": {"compare": "hash"}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec, json_schema())


def test_without_model_train_it_is_a_located_error() -> None:
    text = spec_yaml(changed(breast_cancer(), WITHOUT_TRAIN))
    with pytest.raises(SpecError) as raised:
        validate_text(text, ROOT / "mlops.yaml", display="mlops.yaml", check_files=False)
    assert str(raised.value).splitlines() == [
        f"mlops.yaml:{location(text, 'model.reproducible')}: model.reproducible: needs "
        "model.train: the check retrains the model with it from the commit being gated"]


def test_validate_refuses_it_with_a_non_zero_exit(tmp_path: Path) -> None:
    text = spec_yaml(changed(breast_cancer(), WITHOUT_TRAIN))
    (tmp_path / "mlops.yaml").write_text(text)
    done = subprocess.run([sys.executable, "-m", "mlops", "validate", "mlops.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert (f"mlops.yaml:{location(text, 'model.reproducible')}: model.reproducible: needs "
            "model.train: the check retrains the model with it from the commit being gated"
            ) in done.stderr.splitlines()


def test_the_starter_offers_it_commented_out() -> None:
    text = starter_spec("binary_classification", "demo")
    assert "\n  # reproducible: true " in text
    document = YAML(typ="safe").load(text.replace("  # reproducible: true ", "  reproducible: true #"))
    assert Model.model_validate(document["model"]).reproducible == Reproducible()
