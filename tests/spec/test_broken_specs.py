"""Every broken spec in tests/fixtures/broken_specs produces exactly its expected messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.spec.errors import SpecError
from mlops.spec.loader import load_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "broken_specs"
CASES = sorted(FIXTURES.glob("[0-9]*.yaml"))


def test_there_are_enough_broken_specs() -> None:
    assert len(CASES) >= 15


def test_the_base_of_the_fixtures_is_valid() -> None:
    assert load_spec(FIXTURES / "valid.yaml").spec.name == "tiny"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_broken_spec_messages(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(SpecError) as raised:
        load_spec(case.name)
    expected = (FIXTURES / f"{case.stem}.expected").read_text().rstrip("\n")
    assert str(raised.value) == expected


@pytest.mark.parametrize("name", ["04-wrong-type", "21-many-errors", "26-binary-junk"])
def test_cli_reports_without_traceback(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlops", "validate", f"{name}.yaml"],
        cwd=FIXTURES, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (FIXTURES / f"{name}.expected").read_text()
    assert "Traceback" not in result.stderr


def test_a_directory_is_not_a_spec(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mlops", "validate", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path}:1:1: is a directory; expected an mlops.yaml file\n"


def test_a_missing_file(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mlops", "validate", "nope.yaml"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == "nope.yaml:1:1: file not found\n"


def test_an_unknown_flag_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "mlops", "validate", "--bogus"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "No such option: --bogus" in result.stderr or "No such option '--bogus'" in result.stderr
