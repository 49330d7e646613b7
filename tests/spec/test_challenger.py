"""`serving.challenger` and `monitors.challenger`: a second model judged on real traffic. Every
mistake is located at the key that holds it; a challenger that does not keep the champion's
contract is located at serving.challenger.model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops.cli.main import main
from mlops.spec.loader import load_spec
from tests.projects import write_files
from tests.serving.serve_helpers import make_project, tiny_spec
from tests.specs import REMOVE, changed, location, write_spec

SHADOW = {"model": "models/challenger.onnx", "mode": "shadow", "percent": 20}
LOG = {"path": "logs", "sample_rate": 1.0}
ROUTED = [{"name": "test", "namespace": "test", "rollout": {
    "strategy": "canary", "traffic": {"router": "gateway_api", "hosts": ["tiny.example.com"],
                                      "gateway": {"name": "public", "namespace": "gateways"}}}}]
"""An environment whose router can mirror or split requests: where a challenger can run."""


def model_bytes(features: int, first_class: int = 0) -> bytes:
    """A binary logistic regression on `features` float inputs, its classes `first_class` and the
    next, as skl2onnx exports it (no ZipMap)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, features)).astype(np.float32)
    y = first_class + (x[:, 0] > 0)
    onnx = to_onnx(LogisticRegression().fit(x, y), x[:1], options={"zipmap": False},
                   target_opset=17)
    return bytes(onnx.SerializeToString())


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Built once: the tiny spec's champion, a challenger of the same contract, one with three
    inputs and one with other classes."""
    champion = make_project(tmp_path_factory.mktemp("champion")).parent / "models" / "model.onnx"
    return {"models/model.onnx": champion.read_bytes(), "same": model_bytes(4),
            "three_inputs": model_bytes(3), "other_classes": model_bytes(4, first_class=1)}


@pytest.fixture
def project(tmp_path: Path, models: dict[str, bytes]) -> Callable[..., Path]:
    def write(changes: dict[str, Any], challenger: str = "same") -> Path:
        spec = write_spec(tmp_path, changed(tiny_spec("tiny", "binary_classification",
                                                      ["no", "yes"], {"port": 8080}),
                                            {"deploy.environments": ROUTED, **changes}))
        write_files(tmp_path, {"models/model.onnx": models["models/model.onnx"],
                               "models/challenger.onnx": models[challenger],
                               **{f"data/{split}.csv": "alpha,beta,gamma,delta,y\n0,0,0,0,1\n"
                                  for split in ("train", "test")}})
        return spec
    return write


def validate(capsys: pytest.CaptureFixture[str], spec: Path) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(spec)])
    return int(exited.value.code or 0), capsys.readouterr().err


def test_a_challenger_with_the_same_contract_validates(project: Callable[..., Path]) -> None:
    spec = project({"serving.challenger": SHADOW, "serving.request_log": LOG,
                              "monitors.challenger": {"min_agreement": 0.9}})
    loaded = load_spec(spec).spec
    assert loaded.serving.challenger is not None and loaded.monitors.challenger is not None
    assert (loaded.serving.challenger.percent, loaded.monitors.challenger.min_agreement,
            loaded.monitors.challenger.max_prediction_shift) == (20, 0.9, 0.2)


@pytest.mark.parametrize(("changes", "key", "message"), [
    ({"serving.challenger": SHADOW}, "serving.challenger",
     "needs serving.request_log: the challenger is judged by joining both models' request logs"),
    ({"monitors.challenger": {}}, "monitors.challenger",
     "needs serving.challenger: there is no challenger to judge"),
    ({"serving.challenger": {**SHADOW, "header": "x-mlops-variant"}, "serving.request_log": LOG},
     "serving.challenger.header",
     "header pins users to the challenger in ab mode; a shadow challenger answers nobody"),
    ({"serving.challenger": {**SHADOW, "mode": "ab", "percent": 100}, "serving.request_log": LOG},
     "serving.challenger.percent",
     "ab sends at most 99% of the traffic to the challenger; to serve it to everyone, make it "
     "model.artifact"),
    ({"serving.challenger": {**SHADOW, "model": "models/model.onnx"}, "serving.request_log": LOG},
     "serving.challenger.model", "models/model.onnx is model.artifact: a challenger is another model"),
    ({"serving.challenger": {**SHADOW, "model": "models/missing.onnx"}, "serving.request_log": LOG},
     "serving.challenger.model", "file not found: models/missing.onnx"),
    ({"serving.challenger": SHADOW, "serving.request_log": LOG,
      "monitors.challenger": {"max_metric_drop": 0.05}}, "monitors.challenger.max_metric_drop",
     "needs monitors.performance: its labels and metric score both models"),
    ({"serving.challenger": SHADOW, "serving.request_log": LOG,
      "monitors.challenger": {"tolerance": 0.5}}, "monitors.challenger.tolerance",
     "tolerance compares regression values; classifiers agree on the class"),
])
def test_mistakes_are_located(capsys: pytest.CaptureFixture[str], project: Callable[..., Path],
                              changes: dict[str, Any], key: str, message: str) -> None:
    spec = project(changes)
    code, err = validate(capsys, spec)
    assert (code, err) == (1, f"{spec}:{location(spec.read_text(), key)}: {key}: {message}\n")


def test_a_challenger_with_another_contract_is_located_at_its_model(
        capsys: pytest.CaptureFixture[str], project: Callable[..., Path]) -> None:
    spec = project({"serving.challenger": SHADOW, "serving.request_log": LOG}, "three_inputs")
    code, err = validate(capsys, spec)
    key = "serving.challenger.model"
    assert (code, err) == (1, f"{spec}:{location(spec.read_text(), key)}: {key}: not the contract "
                              "of model.artifact: models/challenger.onnx takes one input 'X' (float "
                              "[?, 3]): 3 features, but data.schema declares 4 (every column but "
                              "the target, in input order)\n")


def test_a_challenger_with_other_classes_is_located_at_its_model(
        capsys: pytest.CaptureFixture[str], project: Callable[..., Path]) -> None:
    spec = project({"model.labels": REMOVE, "serving.challenger": SHADOW,
                    "serving.request_log": LOG}, "other_classes")
    code, err = validate(capsys, spec)
    key = "serving.challenger.model"
    assert (code, err) == (1, f"{spec}:{location(spec.read_text(), key)}: {key}: not the contract "
                              "of model.artifact: classes [1, 2] differ from the champion's [0, 1]\n")


def test_the_request_log_cannot_hide_the_challenger(capsys: pytest.CaptureFixture[str],
                                                     project: Callable[..., Path],
                                                     models: dict[str, bytes]) -> None:
    """The image ships the challenger too: a log volume mounted over it would hide it."""
    spec = project({"serving.challenger": {**SHADOW, "model": "logs/challenger.onnx"},
                    "serving.request_log": LOG})
    write_files(spec.parent, {"logs/challenger.onnx": models["same"]})
    code, err = validate(capsys, spec)
    key = "serving.request_log.path"
    assert (code, err) == (1, f"{spec}:{location(spec.read_text(), key)}: {key}: 'logs' holds "
                              "logs/challenger.onnx, which the image ships: the volume mounted "
                              "there would hide it; give the log a folder of its own, e.g. "
                              "'logs'\n")
