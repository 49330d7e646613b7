"""The release pipeline's own steps (`mlops release`): the compile check and training, run for real
on copies of the example."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from mlops.harness.release import compile_check, train_step
from mlops.harness.runner import Progress
from mlops.spec.loader import load_spec
from tests.projects import breast_cancer_project
from tests.specs import edit_spec


def _train_spec(folder: Path, command: str) -> Path:
    spec = breast_cancer_project(folder)
    edit_spec(spec, {"model.train": command})
    return spec


def test_train_step_reports_failure_and_success(tmp_path: Path) -> None:
    failing = _train_spec(tmp_path / "a", "python -c \"print('loading'); print('boom'); exit(3)\"")
    out = io.StringIO()
    check = train_step(load_spec(failing, check_files=False), False, Progress(out))
    assert (check.gate, check.name, check.status, check.observed) == ("release", "train", "fail", 3)
    assert check.message.startswith("model.train `python -c \"print('loading'); print('boom'); "
                                    "exit(3)\"` exited with 3 after ")
    assert check.message.endswith(" s; last output: loading / boom")
    assert "  | boom\n" in out.getvalue()  # streamed while it ran

    writing = _train_spec(tmp_path / "b", "mkdir -p models && echo onnx > models/model.onnx")
    loaded = load_spec(writing, check_files=False)
    assert train_step(loaded, False, Progress(io.StringIO())).status == "pass"
    skipped = train_step(loaded, False, Progress(io.StringIO()))
    assert (skipped.status, skipped.message) == (
        "skip", "models/model.onnx exists; not retrained (pass --retrain to retrain)")
    assert train_step(loaded, True, Progress(io.StringIO())).status == "pass"


def test_compile_check_names_stale_files_until_compiled(tmp_path: Path) -> None:
    spec = breast_cancer_project(tmp_path / "p")
    stale = compile_check(spec)
    assert (stale.gate, stale.name, stale.status) == ("release", "compile", "fail")
    assert isinstance(stale.observed, float)
    count = int(stale.observed)
    assert count > 5  # five are named, the rest counted
    assert stale.message.startswith(f"{count} generated file(s) out of date (missing: ")
    assert stale.message.endswith(f" and {count - 5} more); run `mlops compile mlops.yaml`")
    compiled = subprocess.run([sys.executable, "-m", "mlops", "compile", str(spec)],
                              capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stderr
    fresh = compile_check(spec)
    assert (fresh.status, fresh.observed) == ("pass", 0)
    assert re.fullmatch(r"\d+ generated files up to date", fresh.message), fresh.message
