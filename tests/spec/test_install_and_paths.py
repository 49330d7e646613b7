"""The install section, the paths the container mounts, and where the monitor can run: each rule
says what is wrong, where, in the words a user reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mlops.spec.errors import SpecError
from mlops.spec.install import InstallSource, default_source, parse_source
from mlops.spec.loader import validate_text
from tests.specs import REMOVE, breast_cancer, changed, location, spec_yaml

ROOT = Path(__file__).resolve().parents[2]


def errors(text: str, root: Path = ROOT, *, check_files: bool = False) -> list[str]:
    """The diagnostics of a spec text as `mlops validate` prints them."""
    try:
        validate_text(text, root / "mlops.yaml", display="mlops.yaml", check_files=check_files)
    except SpecError as error:
        return str(error).splitlines()
    return []


def with_changes(changes: Mapping[str, Any]) -> str:
    """The suite's breast-cancer spec with `changes` by key path, as YAML text."""
    return spec_yaml(changed(breast_cancer(), changes))


def test_the_specs_are_valid_with_their_files() -> None:
    assert errors((ROOT / "mlops.yaml").read_text(), check_files=True) == []
    assert errors(with_changes({}), check_files=True) == []


def test_ci_source_says_where_it_moved() -> None:
    text = with_changes({"ci.source": "git+https://x/mlops"})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'ci.source')}: ci.source: moved to install.source: one "
        "install source now serves every workflow and the Dockerfile"]


@pytest.mark.parametrize(("written", "expected"), [
    ("mlops-yaml==0.2.0", InstallSource("index", "mlops-yaml", "==0.2.0")),
    ("mlops-yaml >= 0.2, < 0.4", InstallSource("index", "mlops-yaml", ">=0.2,<0.4")),
    ("acme-mlops", InstallSource("index", "acme-mlops")),
    ("git+https://github.com/acme/mlops@v0.2.0",
     InstallSource("url", "mlops-yaml", location="git+https://github.com/acme/mlops@v0.2.0")),
    ("wheels/./mlops_yaml-0.2.0-py3-none-any.whl",
     InstallSource("wheel", "mlops-yaml", location="wheels/mlops_yaml-0.2.0-py3-none-any.whl")),
])
def test_source_forms(written: str, expected: InstallSource) -> None:
    assert parse_source(written) == expected


def test_requirements_carry_the_extras_each_place_needs() -> None:
    assert default_source("0.2.0").requirement(["serve", "gate"]) == "mlops-yaml[serve,gate]==0.2.0"
    url = parse_source("https://h/mlops_yaml-0.2.0-py3-none-any.whl")
    assert url.requirement(["serve"]) == "mlops-yaml[serve] @ https://h/mlops_yaml-0.2.0-py3-none-any.whl"
    assert url.offline_requirement(["serve"]) == "mlops-yaml[serve]"
    assert parse_source("w/x-1-py3-none-any.whl").requirement([]) == "./w/x-1-py3-none-any.whl"


@pytest.mark.parametrize(("source", "message"), [
    ("mlops-yaml[serve]==0.2.0", "leave out the extras, got 'mlops-yaml[serve]==0.2.0': compile "
                                 "adds the ones each place needs ([serve] in the image, "
                                 "[serve,gate,load] in CI)"),
    ("http://pypi.local/mlops.whl", "expected a requirement like 'mlops-yaml==0.2.0', an https or "
                                    "git+https URL, or the path of a wheel (.whl) in the repository "
                                    "(URL schemes: https://, git+https://, git+ssh://), got "
                                    "'http://pypi.local/mlops.whl'"),
    ("../wheels/mlops.whl", "expected the wheel's path relative to the spec's folder (no leading "
                            "'/', no '..'), got '../wheels/mlops.whl'"),
    ("pip install mlops-yaml", "expected a requirement like 'mlops-yaml==0.2.0', an https or "
                               "git+https URL, or the path of a wheel (.whl) in the repository, got "
                               "'pip install mlops-yaml'"),
])
def test_a_bad_source_is_located(source: str, message: str) -> None:
    text = with_changes({"install.source": source})
    assert errors(text) == [f"mlops.yaml:{location(text, 'install.source')}: install.source: {message}"]


def test_install_files_must_exist_and_packages_be_requirements() -> None:
    text = with_changes({"install": {
        "source": "wheels/mlops_yaml-0.2.0-py3-none-any.whl",
        "index_url": "http://pypi.local/simple", "requirements": ["requirements-ci.txt"],
        "packages": ["lightgbm==4.7.0", "--pre", "x${{ github.token }}"]}})
    package = ("expected a pip requirement like 'lightgbm==4.7.0', got {!r} (pip options belong in "
               "install.index_url or a requirements file)")
    assert errors(text, check_files=True) == [
        f"mlops.yaml:{location(text, 'install.source')}: install.source: file not found: "
        "wheels/mlops_yaml-0.2.0-py3-none-any.whl",
        f"mlops.yaml:{location(text, 'install.index_url')}: install.index_url: expected an https "
        "URL, got 'http://pypi.local/simple'",
        f"mlops.yaml:{location(text, 'install.requirements.0')}: install.requirements[0]: file not "
        "found: requirements-ci.txt",
        f"mlops.yaml:{location(text, 'install.packages.1')}: install.packages[1]: "
        + package.format("--pre"),
        f"mlops.yaml:{location(text, 'install.packages.2')}: install.packages[2]: "
        + package.format("x${{ github.token }}"),
    ]
    # A gate or the server in the image (check_files=False) does not look for the repository's files.
    assert len(errors(text)) == 3


@pytest.mark.parametrize(("path", "message"), [
    ("../logs", "expected an absolute folder or one inside the spec's folder (no '..'; /app in the "
                "image), got '../logs'"),
    (".", "expected an absolute folder or one inside the spec's folder (no '..'; /app in the image), "
          "got '.'"),
    ("models", "'models' holds models/model.onnx, which the image ships: the volume mounted there "
               "would hide it; give the log a folder of its own, e.g. 'logs'"),
    ("/app/data", "'/app/data' holds data/train.csv, which the image ships: the volume mounted there "
                  "would hide it; give the log a folder of its own, e.g. 'logs'"),
    ("/opt/venv/logs", "'/opt/venv/logs' is a folder of the image itself: a volume mounted there "
                       "breaks the container; use one of its own, e.g. /var/log/mlops"),
    ("/tmp", "'/tmp' is a folder of the image itself: a volume mounted there breaks the container; "
             "use one of its own, e.g. /var/log/mlops"),
])
def test_the_request_log_folder_must_be_a_folder_of_its_own(path: str, message: str) -> None:
    text = with_changes({"serving.request_log.path": path})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'serving.request_log.path')}: serving.request_log.path: "
        f"{message}"]


@pytest.mark.parametrize("path", ["logs", "var/requests", "/srv/requests", "/tmp/requests"])
def test_request_log_folders_that_work(path: str) -> None:
    assert errors(with_changes({"serving.request_log.path": path})) == []


def test_a_monitor_workflow_needs_a_request_log() -> None:
    text = with_changes({"serving.request_log": REMOVE, "monitors.workflow": True})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'monitors.workflow')}: monitors.workflow: the monitor "
        "workflow needs serving.request_log: without a request log there is nothing to monitor",
    ]


def test_spawn_rate_is_checked_only_when_written() -> None:
    """`users: 5` alone is valid: the default spawn_rate (10) is not the user's mistake."""
    assert errors(with_changes({"load.users": 5, "load.spawn_rate": REMOVE})) == []
    text = with_changes({"load.users": 5, "load.spawn_rate": 8})
    assert errors(text) == [
        f"mlops.yaml:{location(text, 'load.spawn_rate')}: load.spawn_rate: spawn_rate (8) is more "
        "than users (5)"]
