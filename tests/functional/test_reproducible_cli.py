"""`mlops gate model` with model.reproducible, as a team runs it in its own repository: the
retraining's verdict is a check of the model gate in every report format, and a non-reproducible
training fails the gate (exit 1) with the sentence that says so."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.harness.training_helpers import noisy_training, tiny_project

pytestmark = pytest.mark.slow

MLOPS = str(Path(sys.executable).parent / "mlops")


def gate_model(spec: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLOPS, "gate", "model", str(spec), "--report-dir", "out"], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


def test_the_check_is_in_every_report_and_its_failure_fails_the_gate(tmp_path: Path) -> None:
    spec = tiny_project(tmp_path / "p", noisy_training(0))
    done = gate_model(spec, tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    report = json.loads((out / "report-model.json").read_text())
    (check,) = [c for gate in report["gates"] for c in gate["checks"] if c["name"] == "reproducible"]
    assert (check["gate"], check["status"]) == ("model", "pass")
    assert check["message"].endswith(": models/model.onnx is bit-identical to the candidate")
    cases = ET.parse(out / "junit-model.xml").getroot().iter("testcase")
    assert "reproducible" in {case.get("name") for case in cases}
    assert "bit-identical to the candidate" in (out / "report-model.html").read_text()
    assert "bit-identical to the candidate" in (out / "report-model.md").read_text()

    noisy = tiny_project(tmp_path / "noisy", noisy_training(1e-5))
    failed = gate_model(noisy, tmp_path)
    assert failed.returncode == 1
    shown = [line for line in failed.stderr.splitlines() if "reproducible" in line]
    assert len(shown) == 1 and shown[0].startswith("  fail: reproducible: retrained from commit ")
    assert shown[0].endswith(": the training is not reproducible; for a framework that is not "
                             "bit-reproducible, set model.reproducible.compare: predictions")
    assert "the training is not reproducible" in (out / "report-model.md").read_text()
