"""The repository's example (./mlops.yaml): its data, its training script and its committed model.

The scripts run as the spec runs them (subprocesses with this venv's python), trained into a
temporary folder so the committed files are only ever read.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import joblib
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from mlops.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "breast_cancer"
SPLITS = ("train", "test", "current")


def load_script(name: str) -> ModuleType:
    """Import one of the example's scripts by path (the examples are scripts, not a package)."""
    module_spec = importlib.util.spec_from_file_location(f"breast_cancer_{name}", EXAMPLE / f"{name}.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def run_script(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE / f"{name}.py"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two independent trainings on the committed data, each into its own folder.

    The first runs the script as the spec does (a fresh process); the second calls its main()
    in this process, which skips a second round of heavy imports.
    """
    first = tmp_path_factory.mktemp("breast_cancer_first")
    result = run_script("train", "--data-dir", ROOT / "data", "--out-dir", first)
    assert result.returncode == 0, result.stderr
    second = tmp_path_factory.mktemp("breast_cancer_second")
    assert load_script("train").main(["--data-dir", str(ROOT / "data"), "--out-dir", str(second)]) == 0
    return first, second


@pytest.fixture(scope="module")
def test_frame() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "test.csv")


def features_of(frame: pd.DataFrame) -> np.ndarray:
    features: np.ndarray = frame.drop(columns=["label"]).to_numpy(dtype=np.float32)
    return features


def test_spec_is_valid_and_the_data_follows_its_schema() -> None:
    spec = load_spec(ROOT / "mlops.yaml").spec
    for split in SPLITS:
        frame = pd.read_csv(ROOT / "data" / f"{split}.csv")
        assert list(frame.columns) == [*spec.data.features, spec.data.target], split
        assert len(frame) >= spec.data.checks.min_rows, split
        for name, column in spec.data.columns.items():
            if column.min is not None:
                assert frame[name].min() >= column.min, (split, name)
            if column.max is not None:
                assert frame[name].max() <= column.max, (split, name)
        assert set(frame["label"]) == {0, 1}


def test_current_batch_does_not_drift_from_reference() -> None:
    """The clean example passes its own drift rule: PSI < 0.25 on every feature."""
    prepare = load_script("prepare_data")
    reference = pd.read_csv(ROOT / "data" / "train.csv")
    current = pd.read_csv(ROOT / "data" / "current.csv")
    feature, worst = prepare.max_psi(reference, current)
    threshold = load_spec(ROOT / "mlops.yaml").spec.data.drift.threshold
    assert worst < threshold, f"{feature}: PSI {worst:.3f}"


def test_psi_detects_a_shifted_batch() -> None:
    """The PSI used above is not blind: shifting one feature by one std trips it."""
    prepare = load_script("prepare_data")
    reference = pd.read_csv(ROOT / "data" / "train.csv")["mean_radius"].to_numpy()
    shifted = reference + reference.std()
    assert prepare.psi(reference, reference) == pytest.approx(0.0)
    assert prepare.psi(reference, shifted) > 0.25


def test_prepare_data_reproduces_the_committed_files(tmp_path: Path) -> None:
    assert load_script("prepare_data").main(["--out-dir", str(tmp_path)]) == 0
    for split in SPLITS:
        name = f"{split}.csv"
        assert (tmp_path / name).read_bytes() == (ROOT / "data" / name).read_bytes(), name


def test_the_splits_are_disjoint_and_cover_the_bundled_data() -> None:
    from sklearn.datasets import load_breast_cancer

    rows = [pd.read_csv(ROOT / "data" / f"{split}.csv") for split in SPLITS]
    combined = pd.concat(rows).drop(columns=["label"]).to_numpy()
    original = np.asarray(load_breast_cancer().data)
    assert len(combined) == len(original)
    # Floats were written with round-trip precision: every row comes back exactly.
    assert set(map(tuple, combined)) == set(map(tuple, original))


def test_training_is_byte_reproducible(trained: tuple[Path, Path]) -> None:
    first, second = trained
    assert (first / "model.onnx").read_bytes() == (second / "model.onnx").read_bytes()


def test_committed_model_is_what_training_produces(
    trained: tuple[Path, Path], test_frame: pd.DataFrame
) -> None:
    """Up to float32 rounding, not bit for bit: the fit runs in float64 on BLAS kernels that differ
    by CPU and is stored in float32. (Here three OpenBLAS kernels gave the same bytes, and a 1e-9
    change in the fit moves a probability by ~1e-8; any real change to training moves it more.)"""
    first, _ = trained
    stale = "is stale: rerun 'python examples/breast_cancer/train.py'"
    (fresh_labels, fresh), (labels, committed) = (
        ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"]).run(
            None, {"input": features_of(test_frame)})
        for folder in (first, ROOT / "models")
    )
    np.testing.assert_allclose(fresh, committed, atol=1e-6, rtol=0, err_msg=f"models/model.onnx {stale}")
    clear = np.abs(committed[:, 1] - 0.5) > 1e-6  # a label may only differ on an exact tie
    np.testing.assert_array_equal(fresh_labels[clear], labels[clear], err_msg=f"models/model.onnx {stale}")
    measured, expected = (
        json.loads((folder / "metrics.json").read_text()) for folder in (first, ROOT / "models")
    )
    assert measured.keys() == expected.keys()
    for name, value in expected.items():  # rounded to 6 decimals: the last may round either way
        assert measured[name] == pytest.approx(value, abs=2e-6), f"models/metrics.json {stale}"


def test_onnx_contract(trained: tuple[Path, Path]) -> None:
    """One float32 input 'input' [batch, 30]; outputs label and probabilities [batch, 2]."""
    model = onnx.load(trained[0] / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    (graph_input,) = model.graph.input
    assert graph_input.name == "input"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    batch, width = graph_input.type.tensor_type.shape.dim
    assert not batch.HasField("dim_value")  # dynamic batch axis
    assert width.dim_value == 30
    assert [output.name for output in model.graph.output] == ["label", "probabilities"]
    opsets = {opset.domain: opset.version for opset in model.opset_import}
    assert opsets[""] == 18
    assert opsets["ai.onnx.ml"] <= 3  # skl2onnx declares the lowest version its nodes need


def test_onnx_matches_sklearn(trained: tuple[Path, Path], test_frame: pd.DataFrame) -> None:
    native = joblib.load(trained[0] / "model.joblib")
    session = ort.InferenceSession(str(trained[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"input": features_of(test_frame)})
    expected = native.predict_proba(test_frame.drop(columns=["label"]))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
    tie = np.abs(expected[:, 1] - 0.5) < 1e-6
    np.testing.assert_array_equal(labels[~tie], expected.argmax(axis=1)[~tie])


@pytest.mark.parametrize("rows", [1, 64])
def test_dynamic_batch(trained: tuple[Path, Path], test_frame: pd.DataFrame, rows: int) -> None:
    session = ort.InferenceSession(str(trained[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    batch = features_of(test_frame)[:rows]
    assert len(batch) == rows
    labels, probabilities = session.run(None, {"input": batch})
    assert labels.shape == (rows,)
    assert probabilities.shape == (rows, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_model_quality(trained: tuple[Path, Path], test_frame: pd.DataFrame) -> None:
    session = ort.InferenceSession(str(trained[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"input": features_of(test_frame)})
    assert accuracy_score(test_frame["label"], labels) >= 0.95
    assert roc_auc_score(test_frame["label"], probabilities[:, 1]) >= 0.98


def test_missing_data_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One line on stderr and exit status 1, not a traceback."""
    train = load_script("train")
    status = train.main(["--data-dir", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "out")])
    assert status == 1
    message = f"error: {tmp_path / 'nowhere' / 'train.csv'} not found; write the data first with "
    assert capsys.readouterr().err == (message + "'python examples/breast_cancer/prepare_data.py'\n")
    assert not (tmp_path / "out").exists()
