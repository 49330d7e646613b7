"""A challenger judged on real traffic: two real servers (`mlops serve --variant champion` and
`--variant challenger`) get the same requests with the same ids, as a mirror sends them, and the
real `mlops monitor run` joins their request logs. Identical, slightly different and broken
challengers (real onnxruntime models built here) are checked against numbers computed directly
from the two models' answers."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops.cli.main import main
from mlops.harness.stats import score_categories
from tests.serving.serve_helpers import FEATURES, Server, make_project
from tests.specs import edit_spec
from tests.tooling import require_tool

pytestmark = pytest.mark.slow

REQUESTS = 120
CHALLENGERS = ("identical", "slight", "broken")
ROUTED = [{"name": "prod", "namespace": "prod", "rollout": {
    "strategy": "canary", "traffic": {"router": "gateway_api", "hosts": ["tiny.example.com"],
                                      "gateway": {"name": "public", "namespace": "gateways"}}}}]
"""Where a challenger can run: an environment whose router mirrors a share of the requests."""
JUDGE = {"min_agreement": 0.8, "max_prediction_shift": 0.2, "max_metric_drop": 0.15,
         "min_requests": 100}


@dataclass(frozen=True)
class Case:
    """One challenger's run: the monitor's exit, report checks and metrics, and the truth."""

    exit_code: int
    stdout: str
    checks: dict[str, dict[str, Any]]
    metrics: str
    champion: np.ndarray
    challenger: np.ndarray
    truth: np.ndarray


def _model(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    onnx = to_onnx(LogisticRegression().fit(x, y), x[:1], options={"zipmap": False},
                   target_opset=17)
    path.write_bytes(onnx.SerializeToString())


def _predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Class indices straight from onnxruntime: the direct computation the report must match."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probabilities = session.run(["probabilities"], {"X": x})[0]
    classes: np.ndarray = np.asarray(probabilities).argmax(axis=1)
    return classes


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny binary spec (champion: x0 + x1 > 0) with a shadow challenger, and three
    challengers: the champion's own file, one that also weighs x2, one with its classes flipped."""
    root = tmp_path_factory.mktemp("challenger")
    spec = make_project(root)
    models = root / "models"
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    shutil.copy(models / "model.onnx", models / "identical.onnx")
    _model(models / "slight.onnx", x, (x[:, 0] + x[:, 1] + 0.6 * x[:, 2] > 0).astype(int))
    _model(models / "broken.onnx", x, (x[:, 0] + x[:, 1] < 0).astype(int))
    return edit_spec(spec, {
        "deploy.environments": ROUTED,
        "serving.request_log": {"path": "logs", "sample_rate": 1.0},
        "serving.challenger": {"model": "models/identical.onnx", "mode": "shadow", "percent": 10},
        "monitors.drift": None,
        "monitors.performance": {"metric": "accuracy", "min": 0.5, "labels": "feedback.csv"},
        "monitors.challenger": JUDGE})


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(11).normal(size=(REQUESTS, len(FEATURES))).astype(np.float32)


def _truth(x: np.ndarray) -> np.ndarray:
    """The feedback labels: near the champion's rule, not on it, so its accuracy is below 1."""
    labels: np.ndarray = ((x[:, 0] + x[:, 1]) > 0.4).astype(int)
    return labels


def _mirror(champion: Server, challenger: Server, x: np.ndarray, case: str) -> tuple[float, float]:
    """What a mirror does: each request to both servers, under one x-request-id; the span of
    time the requests were logged in."""
    started = time.time()
    for index, row in enumerate(x.tolist()):
        body = {"instances": [dict(zip(FEATURES, row, strict=True))]}
        headers = {"X-Request-ID": f"{case}-{index}"}
        for server in (champion, challenger):
            assert server.request("POST", "/predict", body, headers).status == 200
    ended = time.time()
    time.sleep(0.01)  # the next case's window starts after this one's last row
    return started, ended


def _monitor(capsys: pytest.CaptureFixture[str], project: Path, name: str,
             span: tuple[float, float]) -> tuple[int, str, dict[str, dict[str, Any]], str]:
    """The real CLI (in-process) on the window that holds one case's traffic only."""
    root = project.parent
    out = root / f"out-{name}"
    window_ms = math.ceil((span[1] - span[0]) * 1000) + 2
    with pytest.raises(SystemExit) as exited:
        main(["monitor", "run", str(project), "--no-push", "--report-dir", str(out),
              "--feedback", str(root / f"feedback-{name}.csv"), "--now", repr(span[1] + 0.001),
              "--window", f"{window_ms}ms"])
    report = json.loads((out / "report.json").read_text())
    checks = {c["name"]: c for gate in report["gates"] for c in gate["checks"]}
    return (int(exited.value.code or 0), capsys.readouterr().out, checks,
            (out / "metrics.prom").read_text())


@pytest.fixture(scope="module")
def spans(project: Path, inputs: np.ndarray) -> dict[str, tuple[float, float]]:
    """One champion server; each challenger served in turn beside it, mirrored the same
    requests. Stopping the servers flushes their logs."""
    root = project.parent
    found: dict[str, tuple[float, float]] = {}
    champion = Server(project, "--no-access-log")
    try:
        for name in CHALLENGERS:
            challenger = Server(project, "--no-access-log", "--variant", "challenger",
                                "--model", str(root / "models" / f"{name}.onnx"))
            try:
                found[name] = _mirror(champion, challenger, inputs, name)
                metrics = challenger.metrics()
                assert 'variant="challenger"' in metrics and 'variant="champion"' not in metrics
            finally:
                assert challenger.stop() == 0
            (root / f"feedback-{name}.csv").write_text("request_id,row,label\n" + "".join(
                f"{name}-{i},0,{'yes' if label else 'no'}\n" for i, label in enumerate(_truth(inputs))))
    finally:
        assert champion.stop() == 0
    return found


@pytest.fixture
def case(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], project: Path,
         inputs: np.ndarray, spans: dict[str, tuple[float, float]]) -> Case:
    name: str = request.param
    code, stdout, checks, metrics = _monitor(capsys, project, name, spans[name])
    models = project.parent / "models"
    return Case(code, stdout, checks, metrics, _predict(models / "model.onnx", inputs),
                _predict(models / f"{name}.onnx", inputs), _truth(inputs))


def _metric(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + "{"))
    return float(line.rpartition(" ")[2])


@pytest.mark.parametrize("case", ["identical"], indirect=True)
def test_an_identical_challenger_agrees_on_every_request(case: Case) -> None:
    assert case.exit_code == 0, case.stdout
    assert case.checks["challenger.window"]["message"] == (
        f"{REQUESTS} champion rows, {REQUESTS} challenger rows, {REQUESTS} answered by both "
        "(joined on request id and row)")
    assert (case.checks["challenger.agreement"]["status"],
            case.checks["challenger.agreement"]["observed"]) == ("pass", 1.0)
    assert case.checks["challenger.prediction_shift"]["observed"] == pytest.approx(0.0, abs=1e-9)
    assert case.checks["challenger.accuracy"]["observed"] == pytest.approx(0.0, abs=1e-9)
    assert _metric(case.metrics, "mlops_challenger_agreement") == 1.0


@pytest.mark.parametrize("case", ["slight"], indirect=True)
def test_a_slightly_different_challenger_is_measured_exactly(case: Case) -> None:
    agreement = float(np.mean(case.champion == case.challenger))
    assert JUDGE["min_agreement"] < agreement < 1, "the fixture must land between the limits"
    counts = [{label: int(np.sum(classes == index)) for index, label in enumerate(("no", "yes"))}
              for classes in (case.champion, case.challenger)]
    shift = score_categories("psi", counts[0], counts[1]).score
    drop = float(np.mean(case.champion == case.truth) - np.mean(case.challenger == case.truth))
    assert case.exit_code == 0, case.stdout
    observed = {name: case.checks[f"challenger.{name}"]["observed"]
                for name in ("agreement", "prediction_shift", "accuracy")}
    assert observed == pytest.approx({"agreement": agreement, "prediction_shift": shift,
                                      "accuracy": drop}, abs=1e-9)
    assert _metric(case.metrics, "mlops_challenger_agreement") == pytest.approx(agreement)
    assert _metric(case.metrics, "mlops_challenger_metric_drop") == pytest.approx(drop)
    checked = subprocess.run([require_tool("promtool"), "check", "metrics"], input=case.metrics,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("case", ["broken"], indirect=True)
def test_a_broken_challenger_alerts_with_exit_1(case: Case) -> None:
    agreement = float(np.mean(case.champion == case.challenger))
    assert case.exit_code == 1, case.stdout
    assert case.checks["challenger.agreement"]["status"] == "fail"
    assert case.checks["challenger.agreement"]["observed"] == pytest.approx(agreement, abs=1e-9)
    assert case.stdout.startswith("tiny: ALERT (")
    assert "challenger.agreement: challenger agreement with the champion (the same class) on " \
           f"{REQUESTS} requests" in case.stdout
