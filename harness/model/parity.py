"""The native model (`model.source`) run on the same inputs as the ONNX artifact, for parity.

Both see the same raw values (strings with the null placeholder the contract feeds the graph,
numbers as the data holds them): a scikit-learn pipeline with one input per column gets a
DataFrame of those columns, a model on one matrix gets the matrix (as a DataFrame when it was
fitted on named columns). torch gets exactly the graph's float32 input. scikit-learn models are
joblib files (LightGBM and XGBoost scikit-learn wrappers included). A torch state dict holds
weights only, so the module that owns them must be rebuilt first: by convention the training
script named in `model.train` (`python path/to/train.py ...`) defines `build_model() ->
torch.nn.Module`, returning the untrained network whose forward pass produces what the ONNX graph
produces (probabilities for classifiers). The script is imported, not run: its
`if __name__ == "__main__"` block stays idle.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.columns import Columns
from mlops.core.contract import FLOAT_ELEMENTS
from mlops.core.runtime import Feed, OnnxModel
from mlops.spec.loader import LoadedSpec

from .metrics import Outputs


class NativeUnavailable(Exception):
    """The native model cannot be run; the message says why.

    `failed` marks a broken release (a configured model file is missing), reported as an error;
    otherwise parity is not applicable and is reported as a skip.
    """

    def __init__(self, message: str, *, failed: bool = False) -> None:
        super().__init__(message)
        self.failed = failed


def native_outputs(loaded: LoadedSpec, model: OnnxModel, columns: Columns) -> Outputs:
    """Predictions of `model.source` on the raw values `model` is fed for `columns`."""
    source = loaded.spec.model.source
    if source is None:
        raise NativeUnavailable("no model.source is configured, so there is nothing to compare")
    path = loaded.resolve(source.path)
    if not path.is_file():
        raise NativeUnavailable(
            f"native model {source.path} not found; run model.train to produce it", failed=True
        )
    feed = model.feed(columns)
    if source.framework == "sklearn":
        raw = _sklearn(path, _native_input(model, columns, feed), model.classifier)
    else:
        if model.contract.layout != "matrix":
            raise NativeUnavailable("torch parity needs a model with one input tensor; this one "
                                    "has one input per column")
        raw = _torch(loaded, path, feed[model.contract.inputs[0].name])
    if not model.classifier:
        return Outputs(values=raw.reshape(-1))
    if raw.ndim == 1 or raw.shape[1] == 1:
        positive = raw.reshape(-1)
        raw = np.stack([1.0 - positive, positive], axis=1)
    return Outputs(proba=raw)


def _native_input(model: OnnxModel, columns: Columns, feed: Feed) -> Any:
    """The raw values as the native model takes them: one float64 matrix, or a DataFrame of the
    columns - numbers as they are (not rounded to the graph's float32: a tree split placed one
    float64 step above a training value would send a rounded value the other way), integers as
    integers, text with the null placeholder the graph got."""
    contract = model.contract
    if contract.layout == "matrix":
        return np.column_stack([np.asarray(columns[name], dtype=np.float64)
                                for name in contract.inputs[0].columns])
    import pandas

    frame = {}
    for binding in contract.inputs:
        name = binding.columns[0]
        if binding.element == "string":
            frame[name] = feed[binding.name].reshape(-1)
        elif binding.element in FLOAT_ELEMENTS:
            frame[name] = np.asarray(columns[name], dtype=np.float64)
        else:
            frame[name] = feed[binding.name].reshape(-1)
    return pandas.DataFrame(frame)


def _sklearn(path: Path, rows: Any, classifier: bool) -> npt.NDArray[np.float64]:
    try:
        import joblib

        model: Any = joblib.load(path)
    except ModuleNotFoundError as error:
        raise NativeUnavailable(
            f"loading the native model {path.name} needs the Python package '{error.name}', "
            "which is not installed here; add it to install.packages (or install.requirements) "
            "so CI installs it", failed=True) from None
    names = getattr(model, "feature_names_in_", None)
    if names is not None and isinstance(rows, np.ndarray):
        import pandas

        rows = pandas.DataFrame(rows, columns=list(names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = model.predict_proba(rows) if classifier else model.predict(rows)
    return np.asarray(result, dtype=np.float64)


def _torch(loaded: LoadedSpec, path: Path, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    import torch

    script = training_script(loaded)
    if script is None:
        raise NativeUnavailable(
            "torch parity needs model.train to run a Python script (python path/to/train.py) "
            "that defines build_model()"
        )
    with _importable(script.parent, loaded.root):
        spec = importlib.util.spec_from_file_location(f"_mlops_train_{script.stem}", script)
        if spec is None or spec.loader is None:
            raise NativeUnavailable(f"cannot import {script}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    build = getattr(module, "build_model", None)
    if not callable(build):
        raise NativeUnavailable(
            f"torch parity needs {script.relative_to(loaded.root)} to define build_model() "
            "returning the untrained torch.nn.Module; it does not"
        )
    network = build()
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    network.eval()
    with torch.no_grad():
        output = network(torch.from_numpy(np.ascontiguousarray(rows)))
    return np.asarray(output.detach().numpy(), dtype=np.float64)


def training_script(loaded: LoadedSpec) -> Path | None:
    """The .py file `model.train` runs, if it runs one."""
    command = loaded.spec.model.train
    for word in shlex.split(command or ""):
        if word.endswith(".py") and loaded.resolve(word).is_file():
            return loaded.resolve(word)
    return None


@contextmanager
def _importable(*folders: Path) -> Iterator[None]:
    """Let the script import its sibling modules, without leaving sys.path changed."""
    saved = list(sys.path)
    sys.path[:0] = [str(folder) for folder in folders]
    try:
        yield
    finally:
        sys.path[:] = saved
