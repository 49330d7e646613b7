"""An outside team adopts mlops, end to end (issue #11, "How it is proven").

The team's repository is built in a temporary folder: its own git repository with an `origin`
(a bare repository beside it), holding the churn example's files as the team's own (spec, data,
train.py, requirements.txt, checks) and the wheel built from this checkout, which the spec's
`install.source` names. Nothing of this checkout is on the path of any command the team runs:

- a fresh venv installs mlops from that wheel as the README tells an outside team, plus the
  team's pinned training stack; the team trains its own model, compiles, commits and pushes
  (so `model.baseline.ref: origin/main` resolves), then runs `mlops release`;
- `mlops serve` from that venv gets raw strings and nulls through `/predict` and through Open
  Inference Protocol v2 with tritonclient (one tensor per column, BYTES for strings), and refuses
  values outside data.schema;
- the generated PR workflow's `run:` steps are replayed in a second fresh venv that installs
  exactly what the workflow installs.

The wheel and each venv are built once per session; pip's download cache is shared. Both venvs
install without byte-compiling (tests.tooling.NO_COMPILE): the same distributions; the modules the
team's commands import are compiled when first imported, as usual.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import tritonclient.http as triton

from tests.projects import commit_and_push, files_of, make_repository
from tests.tooling import NO_COMPILE
from tests.workflow_replay import ReplayResult, replay

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "churn"
NAME = "subscription-churn-propensity"
STRINGS = ("plan", "contract", "payment_method", "country")
INTEGERS = ("tenure_months", "support_calls")
FLOATS = ("monthly_charges", "avg_session_minutes")
FEATURES = (*STRINGS, *INTEGERS, *FLOATS)
LABELS = ("no", "yes")
INSTALL_TIMEOUT = 1200
# Scores of the same rows through the server and through onnxruntime here: the server batches
# rows with other requests' rows, which may change float32 rounding in the last place only.
ATOL = 1e-6


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    """stdout of a command that must have worked; otherwise everything it said."""
    assert result.returncode == 0, (
        f"{' '.join(map(str, result.args))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}")
    return result.stdout


@dataclass(frozen=True)
class Venv:
    """A virtual environment of its own: commands run with its bin/ first on PATH and nothing of
    this checkout's venv or PYTHONPATH in their environment."""

    root: Path

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    @property
    def env(self) -> dict[str, str]:
        ours = Path(sys.executable).parent
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != ours]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        return {**env, **NO_COMPILE, "VIRTUAL_ENV": str(self.root),
                "PATH": os.pathsep.join([str(self.root / "bin"), *path])}

    def run(self, *command: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return run([*command], cwd=cwd, env=self.env, timeout=timeout)


def create_venv(folder: Path) -> Venv:
    """`python -m venv` from the interpreter under test's base installation, as a team would."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    succeeded(run([str(base), "-m", "venv", str(folder)], cwd=folder.parent, timeout=300))
    return Venv(folder)


def team_files(wheel: Path) -> dict[str, str | bytes]:
    """The churn example as the team's own repository, minus its trained model (the team trains
    it); the spec installs mlops from the wheel committed under wheels/."""
    files: dict[str, str | bytes] = dict(files_of(EXAMPLE, exclude=("models/",)))
    spec = EXAMPLE.joinpath("mlops.yaml").read_text()
    assert "\ninstall:\n" in spec and "$schema=../../generated/" in spec
    files["mlops.yaml"] = (spec.replace("$schema=../../generated/", "$schema=generated/")
                           .replace("\ninstall:\n", f"\ninstall:\n  source: wheels/{wheel.name}\n"))
    files[f"wheels/{wheel.name}"] = wheel.read_bytes()
    files[".gitignore"] = "__pycache__/\nreports/\n.mlops/\n"
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """The team's `mlops serve` on a 127.0.0.1 port, from the team's venv."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body) if body is not None else None
            connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


# --- session fixtures: built once ----------------------------------------------------------------


@pytest.fixture(scope="session")
def team(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """The team's repository, first commit pushed to its origin."""
    return make_repository(tmp_path_factory.mktemp("outside") / "churn-team", team_files(wheel),
                           "churn model: data, training, spec")


@pytest.fixture(scope="session")
def team_venv(tmp_path_factory: pytest.TempPathFactory, team: Path, wheel: Path) -> Venv:
    """mlops from the committed wheel with every gate, the server and build (`[all]`), and the
    team's pinned training stack, as the README's "adopting from outside" section says."""
    venv = create_venv(tmp_path_factory.mktemp("venvs") / "team")
    succeeded(venv.run(venv.bin("python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                       f"./wheels/{wheel.name}[all]", "--requirement", "requirements.txt",
                       cwd=team, timeout=INSTALL_TIMEOUT))
    return venv


@pytest.fixture(scope="session")
def trained(team: Path, team_venv: Venv) -> str:
    """The team trains its model, compiles, and pushes both to main (its first merged PR)."""
    output = succeeded(team_venv.run(team_venv.bin("python"), "train.py", cwd=team, timeout=600))
    succeeded(team_venv.run(team_venv.bin("mlops"), "compile", "mlops.yaml", cwd=team, timeout=300))
    commit_and_push(team, "trained model and generated files")
    return output


@dataclass(frozen=True)
class Released:
    """`mlops release` and the report it wrote, read at once: the PR workflow's replay later
    writes its own report into the same folder (a test order that ran it first read that one)."""

    done: subprocess.CompletedProcess[str]
    report: dict[str, Any]


@pytest.fixture(scope="session")
def released(team: Path, team_venv: Venv, trained: str) -> Released:
    done = team_venv.run(team_venv.bin("mlops"), "release", "mlops.yaml", cwd=team, timeout=900)
    return Released(done, json.loads((team / "reports" / "report.json").read_text()))


@pytest.fixture(scope="session")
def replayed(team: Path, wheel: Path, released: Released) -> ReplayResult:
    """The PR workflow's gates job, replayed in a second fresh venv (tests/workflow_replay.py)."""
    workflow = team / ".github" / "workflows" / f"mlops-{NAME}-pr.yml"
    return replay(workflow, team, wheel.parent, job="gates", env=NO_COMPILE)


@pytest.fixture(scope="session")
def server(team: Path, team_venv: Venv, released: Released) -> Iterator[Server]:
    """Started after the release, so the load gate never shares the cores with it."""
    port = free_port()
    log = team.parent / "server.log"
    process = subprocess.Popen(
        [team_venv.bin("mlops"), "serve", "mlops.yaml", "--host", "127.0.0.1", "--port", str(port),
         "--request-log-dir", str(team.parent / "requests")],
        cwd=team, env=team_venv.env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    running = Server(process, port, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"mlops serve exited {process.returncode}:\n{running.output()}")
        try:
            if running.request("GET", "/v2/health/ready")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"mlops serve not ready after 60 s:\n{running.output()}")
        time.sleep(0.2)
    yield running
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0, running.output()


# --- what the team sends, and what its model says ------------------------------------------------


def raw_rows(team: Path, count: int) -> list[dict[str, Any]]:
    """Test rows as a client sends them: strings, numbers, and None for every null. Rows with
    nulls in each nullable column come first."""
    frame = pd.read_csv(team / "data" / "test.csv").drop(columns=["churned"])
    nulls = frame[["contract", "payment_method", "avg_session_minutes"]].isna()
    ordered = pd.concat([frame[nulls.any(axis=1)], frame[~nulls.any(axis=1)]]).head(count)
    records = ordered.astype(object).where(ordered.notna(), None).to_dict("records")
    for record in records:
        for name in INTEGERS:
            record[name] = int(record[name])
    return records


def onnx_scores(team: Path, rows: list[dict[str, Any]]) -> np.ndarray:
    """The team's graph run here directly: nulls as the contract feeds them ("" and NaN)."""
    feed = {}
    for name in FEATURES:
        values = [row[name] for row in rows]
        if name in STRINGS:
            feed[name] = np.array([["" if v is None else v] for v in values], dtype=object)
        elif name in INTEGERS:
            feed[name] = np.array([[v] for v in values], dtype=np.int64)
        else:
            feed[name] = np.array([[np.nan if v is None else v] for v in values], dtype=np.float32)
    session = ort.InferenceSession(str(team / "models" / "model.onnx"), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], feed)
    return np.asarray(probabilities, dtype=np.float64)


# --- the tests -------------------------------------------------------------------------------------


def test_the_team_runs_mlops_from_the_wheel(team: Path, team_venv: Venv, wheel: Path) -> None:
    where = succeeded(team_venv.run(team_venv.bin("python"), "-c", "import mlops; print(mlops.__file__)",
                                    cwd=team))
    assert Path(where.strip()).is_relative_to(team_venv.root), where
    version = wheel.name.split("-")[1]
    assert succeeded(team_venv.run(team_venv.bin("mlops"), "--version", cwd=team)).split()[-1] == version


def test_the_team_trains_its_own_model(team: Path, trained: str) -> None:
    assert sorted(p.name for p in (team / "models").iterdir()) == ["metrics.json", "model.joblib",
                                                                   "model.onnx"]
    metrics = json.loads((team / "models" / "metrics.json").read_text())
    committed = json.loads((EXAMPLE / "models" / "metrics.json").read_text())
    for name in ("accuracy", "f1", "roc_auc"):
        assert metrics[name] == pytest.approx(committed[name], abs=0.01), (name, trained)


def test_release_passes(released: Released) -> None:
    report, done = released.report, released.done
    problems = [f"{gate['gate']}/{check['name']}: {check['message']}" for gate in report["gates"]
                for check in gate["checks"] if check["status"] in ("fail", "error")]
    assert done.returncode == 0, "\n".join(problems) or done.stdout + done.stderr
    gates = {gate["gate"] for gate in report["gates"]}
    assert gates >= {"release", "data", "model", "bench", "load", "checks"}, gates
    assert f"{NAME}: passed" in done.stdout


def test_the_pr_workflow_runs_in_a_fresh_venv_from_what_it_installs(replayed: ReplayResult,
                                                                      wheel: Path) -> None:
    """Validate, compile --check and every gate pass with only what the workflow installed: mlops
    from the committed wheel (the spec's install.source) and the team's requirements file."""
    assert replayed.ok, str(replayed)
    ran = [step.name for step in replayed.steps if step.ran]
    assert ran == ["Install mlops", "Validate the spec", "Check the generated files are up to date",
                   "Run the release gates", "Write the step summary"], str(replayed)
    assert "wheels/" + wheel.name in replayed.step("Install mlops").command
    assert replayed.installed["mlops-yaml"] == wheel.name.split("-")[1]
    assert replayed.installed["lightgbm"] == "4.7.0"  # requirements.txt, via install.requirements
    assert {"joblib", "scikit-learn"} <= set(replayed.installed)  # the sklearn parity check
    assert f"<!-- mlops-report:{NAME} -->" in replayed.summary


def test_predict_takes_raw_strings_and_nulls(team: Path, server: Server) -> None:
    rows = raw_rows(team, 40)
    assert any(row["contract"] is None for row in rows) and any(
        row["avg_session_minutes"] is None for row in rows)
    status, body = server.request("POST", "/predict", {"instances": rows})
    assert status == 200, body
    got = np.array([[p["probabilities"][label] for label in LABELS] for p in body["predictions"]])
    np.testing.assert_allclose(got, onnx_scores(team, rows), atol=ATOL, rtol=0)
    assert [p["label"] for p in body["predictions"]] == [LABELS[i] for i in got.argmax(axis=1)]


@pytest.mark.parametrize(("change", "message"), [
    ({"country": "BR"}, "instances[0]: feature 'country' is 'BR', not one of the allowed values "
                        "'US', 'DE', 'FR', 'GB', 'ES'"),
    ({"tenure_months": None}, "instances[0]: feature 'tenure_months' is missing (null or NaN), but "
                              "data.schema.tenure_months is not nullable"),
    ({"monthly_charges": 900.0}, "instances[0]: feature 'monthly_charges' is 900, above the maximum "
                                 "500 (data.schema.monthly_charges.max)"),
    ({"plan": 2}, "instances[0]: feature 'plan' must be a string (dtype str), got the number 2"),
])
def test_predict_refuses_values_outside_the_schema(team: Path, server: Server,
                                                   change: dict[str, Any], message: str) -> None:
    row = {**raw_rows(team, 1)[0], **change}
    assert server.request("POST", "/predict", {"instances": [row]}) == (
        422, {"error": message, "kind": "schema"})


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_sends_one_tensor_per_column(team: Path, server: Server, binary: bool) -> None:
    """OIP v2: BYTES for strings (a null string is the placeholder ""), INT64, FP32 with NaN."""
    rows = raw_rows(team, 16)
    inputs = []
    for name in FEATURES:
        values = [row[name] for row in rows]
        if name in STRINGS:
            array = np.array([[("" if v is None else v).encode()] for v in values], dtype=object)
            datatype = "BYTES"
        elif name in INTEGERS:
            array, datatype = np.array([[v] for v in values], dtype=np.int64), "INT64"
        else:
            array = np.array([[np.nan if v is None else v] for v in values], dtype=np.float32)
            datatype = "FP32"
        tensor = triton.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
    try:
        result = client.infer(NAME, inputs, outputs=[
            triton.InferRequestedOutput("probabilities", binary_data=binary),
            triton.InferRequestedOutput("label", binary_data=binary)])
    finally:
        client.close()
    probabilities = result.as_numpy("probabilities")
    assert probabilities is not None
    np.testing.assert_allclose(probabilities, onnx_scores(team, rows), atol=ATOL, rtol=0)
    labels = result.as_numpy("label")
    assert labels is not None
    assert [v.decode() if isinstance(v, bytes) else v for v in labels.ravel()] == [
        LABELS[i] for i in probabilities.argmax(axis=1)]
