"""pytest fixtures built from mlops.yaml, for a team's own checks (run by `mlops gate checks`).

Installed with mlops through the `pytest11` entry point, so it is active in every pytest run of the
environment: it only adds the `--mlops-spec` option, the `data` and `model` markers and fixtures.
Nothing is read or imported (the spec, pandas, onnxruntime) until a test requests a fixture, so a
project without mlops.yaml is unaffected; a fixture it does request errors saying what to do.

The spec is `--mlops-spec PATH`, else `$MLOPS_SPEC`, else mlops.yaml in the rootdir or the
folder pytest was started from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import pytest

from mlops.core.plugins import install_hint

if TYPE_CHECKING:
    import pandas as pd

    from mlops.harness.checks.live_server import LiveServer
    from mlops.harness.model.predictor import Predictor
    from mlops.spec.loader import LoadedSpec

SPEC_ENV = "MLOPS_SPEC"
SPEC_FILE = "mlops.yaml"
INSTALL_HINT = install_hint("gate")
"""What a fixture whose package is missing asks for: the gate extra, as a gate's own error does."""
T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlops", "mlops.yaml fixtures (spec, model, test_data, server, ...)")
    group.addoption("--mlops-spec", dest="mlops_spec", metavar="PATH", default=None,
                    help=f"the spec the fixtures read (default: ${SPEC_ENV}, else {SPEC_FILE} in "
                         "the rootdir or the current folder)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "data: a check of the data (fixtures train_data, test_data, "
                                       "reference_data, current_data)")
    config.addinivalue_line("markers", "model: a check of the model's behaviour (fixtures model, "
                                       "baseline_model, server)")


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _spec_path(config: pytest.Config) -> Path:
    given = config.getoption("mlops_spec") or os.environ.get(SPEC_ENV)
    if given:
        path = Path(given)
        return path if path.is_absolute() else config.invocation_params.dir / path
    looked = [config.rootpath, config.invocation_params.dir]
    for folder in looked:
        if (folder / SPEC_FILE).is_file():
            return folder / SPEC_FILE
    where = " or ".join(dict.fromkeys(str(folder) for folder in looked))
    _fail(f"no {SPEC_FILE} in {where}; pass --mlops-spec PATH or set {SPEC_ENV}")


def _guarded(what: str, build: Callable[[], T]) -> T:
    """Run `build`; a user problem or a missing optional package fails the test with a sentence."""
    from mlops.core.errors import MlopsError

    try:
        return build()
    except ModuleNotFoundError as error:
        _fail(f"the {what} fixture needs the Python package '{error.name}'; {INSTALL_HINT}")
    except MlopsError as error:
        _fail(f"{what}: {error}")


# --- the spec and its data ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def spec(pytestconfig: pytest.Config) -> LoadedSpec:
    """The validated mlops.yaml (`spec.spec` is the model, `spec.root` its folder)."""
    from mlops.spec.loader import load_spec

    path = _spec_path(pytestconfig)
    return _guarded("spec", lambda: load_spec(path, check_files=False))


def _frame(loaded: LoadedSpec, relative: str) -> pd.DataFrame:
    from mlops.harness.data.frames import read_frame

    return _guarded(relative, lambda: read_frame(loaded, relative))


@pytest.fixture(scope="session")
def _mlops_frames(spec: LoadedSpec) -> dict[str, pd.DataFrame]:
    """Each split read once per session; the public fixtures hand out copies."""
    return {}


def _split(spec: LoadedSpec, frames: dict[str, pd.DataFrame], relative: str) -> pd.DataFrame:
    if relative not in frames:
        frames[relative] = _frame(spec, relative)
    return frames[relative].copy()


@pytest.fixture
def train_data(spec: LoadedSpec, _mlops_frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """data.train as a DataFrame of the schema's columns (a fresh copy per test)."""
    return _split(spec, _mlops_frames, spec.spec.data.train)


@pytest.fixture
def test_data(spec: LoadedSpec, _mlops_frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """data.test as a DataFrame of the schema's columns (a fresh copy per test)."""
    return _split(spec, _mlops_frames, spec.spec.data.test)


@pytest.fixture
def reference_data(spec: LoadedSpec, _mlops_frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """data.reference (default: data.train) as a DataFrame (a fresh copy per test)."""
    return _split(spec, _mlops_frames, spec.spec.data.reference_path)


@pytest.fixture
def current_data(spec: LoadedSpec, _mlops_frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """data.current as a DataFrame; the test is skipped when there is no current batch."""
    relative = spec.spec.data.current
    if relative is None:
        pytest.skip(f"no current data: data.current is not set in {spec.path}")
    if not spec.resolve(relative).exists():
        pytest.skip(f"no current data: {relative} (data.current) does not exist")
    return _split(spec, _mlops_frames, relative)


# --- the model -----------------------------------------------------------------------------------


def _predictor(loaded: LoadedSpec, source: Path | bytes, what: str) -> Predictor:
    def build() -> Predictor:
        from mlops.core.errors import MlopsError
        from mlops.core.runtime import ModelError
        from mlops.harness.model.predictor import Predictor

        try:
            return Predictor.from_spec(loaded, source)
        except ModelError as error:
            raise MlopsError(str(error)) from None

    return _guarded(what, build)


@pytest.fixture(scope="session")
def model(spec: LoadedSpec) -> Predictor:
    """model.artifact on onnxruntime: `predict(rows)` and `predict_proba(rows)` over a DataFrame,
    a {feature: value} mapping, a list of them, or an array in schema order."""
    relative = spec.spec.model.artifact
    artifact = spec.resolve(relative)
    if not artifact.is_file():
        hint = f"; run `{spec.spec.model.train}` to train it" if spec.spec.model.train else ""
        _fail(f"model: {relative} (model.artifact) not found{hint}")
    return _predictor(spec, artifact, "model")


@pytest.fixture(scope="session")
def baseline_model(spec: LoadedSpec) -> Predictor:
    """The model as committed at model.baseline.ref, like `model`; skipped when there is none."""
    baseline = spec.spec.model.baseline
    if baseline is None:
        pytest.skip(f"no baseline model: model.baseline is not set in {spec.path}")

    def read() -> bytes:
        from mlops.harness.baseline import BaselineUnavailable, read_baseline

        try:
            found = read_baseline(spec.root, baseline.ref, spec.spec.model.artifact)
        except BaselineUnavailable as reason:
            pytest.skip(f"no baseline model: {reason}")
        if found.model is None:
            pytest.skip(f"no baseline model: {'; '.join(found.missing)}")
        return found.model

    source = _guarded("baseline_model", read)
    return _predictor(spec, source, f"baseline_model at {baseline.ref}")


@pytest.fixture(scope="session")
def server(spec: LoadedSpec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running `mlops serve` of the spec on a free 127.0.0.1 port (`url`, `predict(rows)`),
    started once per session and always stopped."""
    from mlops.harness.checks.live_server import LiveServer

    folder = tmp_path_factory.mktemp("mlops-serve")
    running = _guarded("server", lambda: LiveServer(spec, folder))
    try:
        yield running
    finally:
        running.stop()
