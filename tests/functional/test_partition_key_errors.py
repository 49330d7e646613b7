"""A Hive partition key the dataset cannot use, through every command that reads a dataset the spec
names: the message gives the spec value that pointed at the dataset (`mlops.yaml:LINE:COL:
data.test: ...`) and the file, the command exits non-zero, and no traceback is shown.

One small project (a three-input logistic regression whose `dt` input is a declared int partition
key) is built once; each test copies it and breaks one folder.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from mlops.cli.main import main
from tests.monitor.monitor_helpers import records, write_jsonl
from tests.specs import edit_spec, location, write_spec

SPEC: dict[str, Any] = {
    "version": 1, "name": "tiny",
    "data": {"train": "data/train", "test": "data/test", "target": "y",
             "schema": {"alpha": {"dtype": "float"}, "beta": {"dtype": "float"},
                        "dt": {"dtype": "int"}, "y": {"dtype": "int"}}},
    "model": {"task": "binary_classification", "artifact": "models/model.onnx",
              "labels": ["no", "yes"]},
    "deploy": {"image": "localhost/tiny", "environments": [{"name": "test", "namespace": "test"}]},
}


def _csv(path: Path, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=(40, 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    pcsv.write_csv(pa.table({"alpha": x[:, 0], "beta": x[:, 1], "y": (x[:, 0] > 0).astype(int)}),
                   path)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("partition-keys")
    x = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    (root / "models").mkdir()
    (root / "models" / "model.onnx").write_bytes(
        to_onnx(model, x[:1], options={"zipmap": False}, target_opset=17).SerializeToString())
    for seed, folder in enumerate(("train/dt=1", "train/dt=2", "test/dt=1", "test/dt=2")):
        _csv(root / "data" / folder / "part-0.csv", seed)
    write_spec(root / "mlops.yaml", SPEC)
    return root


def _project(base: Path, tmp_path: Path, changes: Mapping[str, Any]) -> Path:
    folder = tmp_path / "team"
    shutil.copytree(base, folder)
    edit_spec(folder / "mlops.yaml", changes)
    return folder


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def mlops(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
          ) -> Callable[..., Done]:
    """The CLI's entry point in this process, in the project's folder (an interpreter start
    and the imports per command would cost seconds each): a defect, rather than a user error,
    raises here and fails the test with its traceback."""
    def run(folder: Path, *args: str) -> Done:
        monkeypatch.chdir(folder)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return Done(int(exited.value.code or 0), out, err)

    return run


def _at(folder: Path, key: str) -> str:
    return f"mlops.yaml:{location((folder / 'mlops.yaml').read_text(), key)}: {key}"


def _abc(folder: Path) -> None:
    """data.test gets a day folder whose dt does not parse as the declared int."""
    shutil.move(folder / "data" / "test" / "dt=2", folder / "data" / "test" / "dt=abc")


def test_the_data_gate_names_the_spec_line_and_the_file(base: Path, tmp_path: Path,
        mlops: Callable[..., Done]) -> None:
    folder = _project(base, tmp_path, {})
    _abc(folder)
    shutil.move(folder / "data" / "train" / "dt=2", folder / "data" / "train" / "beta=2")
    done = mlops(folder, "gate", "data")
    assert done.returncode == 1
    assert (f"  fail: train.file: {_at(folder, 'data.train')}: data/train/beta=2/part-0.csv: "
            "column 'beta' is both in the file and a partition key of its path (beta=2); rename "
            "one of them\n") in done.stderr
    assert (f"  fail: test.file: {_at(folder, 'data.test')}: data/test/dt=abc/part-0.csv: "
            "partition key 'dt' expected int (data.schema.dt), found 'abc' in the path\n"
            ) in done.stderr


def test_the_model_gate_names_the_spec_line_and_the_file(base: Path, tmp_path: Path,
        mlops: Callable[..., Done]) -> None:
    folder = _project(base, tmp_path, {})
    _abc(folder)
    done = mlops(folder, "gate", "model")
    assert done.returncode == 1
    assert (f"  error: inputs: {_at(folder, 'data.test')}: data/test/dt=abc/part-0.csv: "
            "partition key 'dt' expected int (data.schema.dt), found 'abc' in the path (see the "
            "data gate)\n") in done.stderr


def test_the_monitor_names_the_reference_line_and_the_file(base: Path, tmp_path: Path,
        mlops: Callable[..., Done]) -> None:
    folder = _project(base, tmp_path, {"data.reference": "data/reference",
                                       "serving": {"request_log": {"path": "logs"}},
                                       "monitors": {}})
    _csv(folder / "data" / "reference" / "dt=1" / "dt=2" / "part-0.csv", 9)
    rows = [{"alpha": 0.1 * i, "beta": -0.1 * i, "dt": 1} for i in range(30)]
    write_jsonl(folder / "logs" / "requests-tiny-20261201T000000-1-000001.jsonl",
                records(rows, time.time() - 60, model="tiny"))
    done = mlops(folder, "monitor", "run", "--no-push")
    assert done.returncode == 2
    assert done.stdout.splitlines()[:2] == [
        "tiny: the monitor could not run",
        f"  error: reference: reference data not read: {_at(folder, 'data.reference')}: "
        "data/reference/dt=1/dt=2/part-0.csv: partition key 'dt' appears twice in the path"]


def test_predict_names_batch_input_and_the_file(base: Path, tmp_path: Path,
        mlops: Callable[..., Done]) -> None:
    folder = _project(base, tmp_path, {"batch": {"input": "data/score", "output": "out",
                                                 "keys": ["region"]}})
    _csv(folder / "data" / "score" / "dt=1" / "region=eu" / "part-0.csv", 5)
    _csv(folder / "data" / "score" / "dt=1" / "late" / "part-0.csv", 6)
    done = mlops(folder, "predict")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"{_at(folder, 'batch.input')}: data/score/dt=1/late/part-0.csv: no partition key "
        "'region' in its path (data/score/dt=1/region=eu/part-0.csv has region=eu)")
    assert not (folder / "out").exists()


def test_predict_on_a_folder_the_spec_does_not_name_names_the_file(
        base: Path, tmp_path: Path, mlops: Callable[..., Done]) -> None:
    folder = _project(base, tmp_path, {})
    _abc(folder)
    shutil.move(folder / "data" / "test", folder / "elsewhere")
    done = mlops(folder, "predict", "--input", "elsewhere", "--output", "out")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "elsewhere/dt=abc/part-0.csv: partition key 'dt' expected int (data.schema.dt), found "
        "'abc' in the path")
