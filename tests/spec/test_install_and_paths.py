"""The install section, the paths the container mounts, and where the monitor can run: each rule
says what is wrong, where, in the words a user reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.spec.errors import SpecError
from mlops.spec.install import InstallSource, default_source, parse_source
from mlops.spec.loader import validate_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "mlops.yaml").read_text()


def errors(text: str, root: Path = ROOT, *, check_files: bool = False) -> list[str]:
    """The diagnostics of a spec text as `mlops validate` prints them."""
    try:
        validate_text(text, root / "mlops.yaml", display="mlops.yaml", check_files=check_files)
    except SpecError as error:
        return str(error).splitlines()
    return []


def with_lines(old: str, new: str) -> str:
    assert EXAMPLE.count(old) == 1, old
    return EXAMPLE.replace(old, new)


def at(text: str, fragment: str, after: str = "") -> str:
    """`LINE:COL` of the first place `fragment` starts in `text` (after `after`)."""
    before = text[:text.index(fragment, text.index(after))]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def test_the_example_is_valid() -> None:
    assert errors(EXAMPLE, check_files=True) == []


def test_ci_source_says_where_it_moved() -> None:
    text = with_lines('ci: {provider: github,', 'ci: {source: "git+https://x/mlops", provider: github,')
    where = at(text, '"git+https://x')
    assert errors(text) == [
        f"mlops.yaml:{where}: ci.source: moved to install.source: one install source now serves "
        "every workflow and the Dockerfile"]


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
    text = with_lines("install:\n", f"install:\n  source: {source}\n")
    assert errors(text) == [f"mlops.yaml:{at(text, source)}: install.source: {message}"]


def test_install_files_must_exist_and_packages_be_requirements() -> None:
    text = with_lines("  requirements: [examples/breast_cancer/requirements.txt]\n",
                      "  source: wheels/mlops_yaml-0.2.0-py3-none-any.whl\n"
                      "  index_url: http://pypi.local/simple\n"
                      "  requirements: [requirements-ci.txt]\n"
                      "  packages: [lightgbm==4.7.0, --pre, 'x${{ github.token }}']\n")
    package = ("expected a pip requirement like 'lightgbm==4.7.0', got {!r} (pip options belong in "
               "install.index_url or a requirements file)")
    assert errors(text, check_files=True) == [
        f"mlops.yaml:{at(text, 'wheels/')}: install.source: file not found: "
        "wheels/mlops_yaml-0.2.0-py3-none-any.whl",
        f"mlops.yaml:{at(text, 'http://pypi')}: install.index_url: expected an https URL, got "
        "'http://pypi.local/simple'",
        f"mlops.yaml:{at(text, 'requirements-ci')}: install.requirements[0]: file not found: "
        "requirements-ci.txt",
        f"mlops.yaml:{at(text, '--pre')}: install.packages[1]: " + package.format("--pre"),
        f"mlops.yaml:{at(text, chr(39) + 'x$')}: install.packages[2]: "
        + package.format("x${{ github.token }}"),
    ]
    # A gate or the server in the image (check_files=False) does not look for the repository's files.
    assert len(errors(text)) == 3


LOG = "request_log: {path: /var/log/mlops,"


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
    text = with_lines(LOG, f"request_log: {{path: '{path}',")
    assert errors(text) == [
        f"mlops.yaml:{at(text, repr(path))}: serving.request_log.path: {message}"]


@pytest.mark.parametrize("path", ["logs", "var/requests", "/srv/requests", "/tmp/requests"])
def test_request_log_folders_that_work(path: str) -> None:
    assert errors(with_lines(LOG, f"request_log: {{path: '{path}',")) == []


def test_a_monitor_workflow_needs_a_request_log() -> None:
    text = with_lines("  request_log: {path: /var/log/mlops, sample_rate: 0.1, format: jsonl, "
                      "claim: breast-cancer-requests}\n", "")
    text = text.replace("  pushgateway:", "  workflow: true\n  pushgateway:")
    assert errors(text) == [
        f"mlops.yaml:{at(text, 'true', after='workflow:')}: monitors.workflow: the monitor workflow "
        "needs serving.request_log: without a request log there is nothing to monitor",
    ]


def test_spawn_rate_is_checked_only_when_written() -> None:
    """`users: 5` alone is valid: the default spawn_rate (10) is not the user's mistake."""
    text = with_lines("  users: 16\n  spawn_rate: 8\n", "  users: 5\n")
    assert errors(text) == []
    text = with_lines("  users: 16\n  spawn_rate: 8\n", "  users: 5\n  spawn_rate: 8\n")
    assert errors(text) == [
        f"mlops.yaml:{at(text, '8', after='spawn_rate:')}: load.spawn_rate: spawn_rate (8) is more than "
        "users (5)"]
