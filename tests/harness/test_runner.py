"""The runner: a crashing gate becomes an error check and hides no other gate's result."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mlops.core.errors import MlopsError
from mlops.core.plugins import GATES, OWN_DISTRIBUTION, Registration
from mlops.harness.gate import GateOptions
from mlops.harness.registry import GATE_NAMES, get_gate
from mlops.harness.runner import Progress, run_gates
from mlops.spec.loader import load_spec
from tests.projects import breast_cancer_project


def builtin(monkeypatch: pytest.MonkeyPatch, name: str, module: str) -> None:
    """Register `module` as if it were one of our built-in gates, for this test only."""
    registration = Registration(GATES.kind.group, name, module, OWN_DISTRIBUTION, "")
    monkeypatch.setitem(GATES.registered, name, registration)


def test_crash_becomes_an_error_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin(monkeypatch, "crashing", "tests.harness.crashing_gate")
    loaded = load_spec(breast_cancer_project(tmp_path), check_files=False)
    out = io.StringIO()
    report = run_gates(loaded, ["crashing", "data"], GateOptions(), progress=Progress(out))
    crashed, data = report.gates
    assert [(c.name, c.status, c.message) for c in crashed.checks] == [
        ("gate", "error", "the crashing gate crashed: ZeroDivisionError: division by zero")]
    assert "ZeroDivisionError" in crashed.checks[0].details["traceback"]
    assert data.status == "pass" and data.duration_s > 0
    assert report.exit_code == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "gate crashing ..."
    assert lines[1].startswith("gate crashing: error (1 error; ")
    assert "  error: gate: the crashing gate crashed: ZeroDivisionError: division by zero" in lines


def test_unknown_and_missing_gates(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MlopsError) as unknown:
        get_gate("speed")
    assert str(unknown.value) == f"unknown gate 'speed'; the gates are {', '.join(GATE_NAMES)}"
    assert GATE_NAMES[:4] == ("data", "model", "bench", "load")
    builtin(monkeypatch, "ghost", "mlops.harness.ghost")
    with pytest.raises(MlopsError) as missing:
        get_gate("ghost")
    assert str(missing.value) == ("the ghost gate is not available in this installation (module "
                                  "mlops.harness.ghost is missing)")


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path)
    current = tmp_path / "data/current.csv"
    lines = current.read_text().splitlines()
    current.write_text("\n".join([lines[0] + ",note", *(line + ",x" for line in lines[1:])]) + "\n")
    report = run_gates(load_spec(spec, check_files=False), ["data"], GateOptions(),
                       progress=Progress(io.StringIO()))
    assert report.status == "warn" and report.exit_code == 0
