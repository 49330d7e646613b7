"""The pytest plugin's fixtures, in real pytest subprocesses on small projects: against the real
example (the model predicts, the server answers, the baseline is read from git), and the errors
and skips a team sees when something is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.projects import ROOT, breast_cancer_project
from tests.specs import edit_spec


def write(folder: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(content)


def pytest_in(folder: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run pytest in `folder`; the exit code and the `-rA` summary lines (outcome, id, reason).

    CI and BUILD_NUMBER are dropped: under them pytest prints whole multi-line reasons in the
    summary, and these tests read its one-line form. pytest-randomly (installed for this suite)
    would shuffle the team's tests, whose order some of these tests read: it is blocked.
    """
    outer = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                           "no:randomly", "-rA", "-q", "--strict-markers", *args], cwd=folder,
                          capture_output=True, text=True,
                          env={**outer, "COLUMNS": "1000", **(env or {})}, timeout=300)
    summary = done.stdout.partition("short test summary info")[2].splitlines()[1:-1]
    return done.returncode, summary


def example_with_model(folder: Path) -> Path:
    spec = breast_cancer_project(folder)
    shutil.copytree(ROOT / "models", folder / "models")
    return spec


FIXTURE_CHECKS = '''\
import os
from pathlib import Path

import numpy as np
import pytest

from mlops.harness.checks.live_server import ServerError


@pytest.mark.model
def test_model_predicts_named_rows_frames_and_arrays(model, test_data):
    proba = model.predict_proba(test_data)
    assert proba.shape == (114, 2)
    assert (model.predict(test_data) == test_data["label"]).mean() > 0.93
    row = test_data.drop(columns="label").iloc[0].to_dict()
    assert model.predict(row).tolist() == model.predict([row]).tolist() == [test_data["label"][0]]
    np.testing.assert_array_equal(model.predict_proba(test_data[test_data.columns[::-1]]), proba)
    np.testing.assert_array_equal(model.predict_proba(test_data[model.features].to_numpy()), proba)
    with pytest.raises(ValueError, match="^row 0 lacks feature\\\\(s\\\\) worst_area$"):
        model.predict({k: v for k, v in row.items() if k != "worst_area"})


@pytest.mark.data
def test_frames_have_the_schema_columns_and_types(spec, train_data, test_data, reference_data,
                                                  current_data):
    assert list(test_data.columns) == list(spec.spec.data.columns)
    assert (len(train_data), len(test_data), len(current_data)) == (341, 114, 114)
    assert reference_data.equals(train_data)
    assert (str(test_data["label"].dtype), str(test_data["mean_radius"].dtype)) == ("int64", "float64")
    test_data["mean_radius"] = -1.0


def test_each_test_gets_a_fresh_frame(test_data):
    assert (test_data["mean_radius"] > 0).all()


@pytest.mark.model
def test_server_answers(server, model, test_data):
    Path(os.environ["SERVER_PID_FILE"]).write_text(str(server.process.pid))
    rows = test_data.head(3)
    assert [p["label"] for p in server.predict(rows)] == [model.classes[i] for i in model.predict(rows)]
    assert server.url == f"http://127.0.0.1:{server.port}"
    with pytest.raises(ServerError) as error:
        server.predict(rows.assign(mean_radius=float("nan")))
    assert error.value.status == 422  # a missing value in a column that is not nullable
'''


def test_fixtures_against_the_example(tmp_path: Path) -> None:
    example_with_model(tmp_path / "p")
    write(tmp_path / "p", {"checks/test_fixtures.py": FIXTURE_CHECKS})
    pid_file = tmp_path / "server.pid"
    code, summary = pytest_in(tmp_path / "p", "checks", env={"SERVER_PID_FILE": str(pid_file)})
    assert summary == [
        "PASSED checks/test_fixtures.py::test_model_predicts_named_rows_frames_and_arrays",
        "PASSED checks/test_fixtures.py::test_frames_have_the_schema_columns_and_types",
        "PASSED checks/test_fixtures.py::test_each_test_gets_a_fresh_frame",
        "PASSED checks/test_fixtures.py::test_server_answers",
    ]
    assert code == 0
    with pytest.raises(ProcessLookupError):  # the session stopped its server
        os.kill(int(pid_file.read_text()), 0)


BASELINE_CHECKS = '''\
def test_baseline_predicts(baseline_model, test_data):
    assert (baseline_model.predict(test_data) == test_data["label"]).mean() > 0.93


def test_candidate(model):
    pass
'''


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=folder, check=True, capture_output=True)


def test_baseline_model_is_read_from_git(tmp_path: Path) -> None:
    spec = example_with_model(tmp_path)
    edit_spec(spec, {"model.baseline.ref": "main"})
    write(tmp_path, {"checks/test_baseline.py": BASELINE_CHECKS})
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "models/model.onnx")
    git(tmp_path, "commit", "-q", "-m", "release the model")
    (tmp_path / "models/model.onnx").unlink()  # the candidate is gone; the baseline is in git
    code, summary = pytest_in(tmp_path, "checks")
    assert summary[0] == "PASSED checks/test_baseline.py::test_baseline_predicts"
    assert summary[1].startswith("ERROR checks/test_baseline.py::test_candidate - Failed: model: "
                                 "models/model.onnx (model.artifact) not found")
    assert code == 1


MISSING_CHECKS = '''\
def test_baseline(baseline_model):
    pass


def test_current(current_data):
    pass


def test_model(model):
    pass
'''


def test_what_is_missing_skips_or_errors_with_the_reason(tmp_path: Path) -> None:
    breast_cancer_project(tmp_path)
    (tmp_path / "data/current.csv").unlink()
    write(tmp_path, {"checks/test_missing.py": MISSING_CHECKS})
    code, summary = pytest_in(tmp_path, "checks")
    assert summary == [
        "SKIPPED [1] checks/test_missing.py:1: no baseline model: the spec's folder is in no git "
        "repository, so no baseline at origin/main",
        "SKIPPED [1] checks/test_missing.py:5: no current data: data/current.csv (data.current) "
        "does not exist",
        "ERROR checks/test_missing.py::test_model - Failed: model: models/model.onnx "
        "(model.artifact) not found; run `python examples/breast_cancer/train.py` to train it",
    ]
    assert code == 1


PLAIN_CHECKS = '''\
import sys


def test_plain_tests_are_untouched():
    heavy = ("onnxruntime", "pandas", "pyarrow", "pydantic", "mlops.spec.loader",
             "mlops.harness.model.predictor")
    assert [name for name in heavy if name in sys.modules] == []


def test_spec_requested(spec):
    pass
'''


def test_a_project_without_a_spec_is_unaffected_until_it_asks(tmp_path: Path) -> None:
    write(tmp_path, {"test_plain.py": PLAIN_CHECKS})
    code, summary = pytest_in(tmp_path)
    assert summary == [
        "PASSED test_plain.py::test_plain_tests_are_untouched",
        f"ERROR test_plain.py::test_spec_requested - Failed: no mlops.yaml in {tmp_path}; pass "
        "--mlops-spec PATH or set MLOPS_SPEC",
    ]
    assert code == 1


def test_the_spec_comes_from_the_option_or_the_environment(tmp_path: Path) -> None:
    breast_cancer_project(tmp_path / "model")
    write(tmp_path, {"test_name.py": "def test_name(spec):\n    assert spec.spec.name == "
                                     "'breast-cancer'\n",
                     "bad.yaml": "version: 2\n"})
    passed = ["PASSED test_name.py::test_name"]
    assert pytest_in(tmp_path, "--mlops-spec", "model/mlops.yaml") == (0, passed)
    assert pytest_in(tmp_path, env={"MLOPS_SPEC": str(tmp_path / "model/mlops.yaml")}) == (0, passed)
    code, summary = pytest_in(tmp_path, "--mlops-spec", "bad.yaml")
    assert code == 1
    assert summary == [f"ERROR test_name.py::test_name - Failed: spec: {tmp_path / 'bad.yaml'}:1:1: "
                       "data: missing required key 'data'"]
