"""`run_training`, the one way model.train runs (`mlops release`, the reproducibility check): the
spec's folder, the Python running mlops first on PATH, output echoed and its tail kept."""

from __future__ import annotations

import sys
from pathlib import Path

from mlops.harness.training import TAIL_LINES, run_training


def test_python_is_the_one_running_mlops_in_the_given_folder(tmp_path: Path) -> None:
    echoed: list[str] = []
    run = run_training("python -c 'import os, sys; print(sys.executable); print(os.getcwd())'",
                       tmp_path, echoed.append)
    assert run.succeeded and run.code == 0
    assert run.tail == (str(Path(sys.executable).parent / "python"), str(tmp_path))
    assert echoed == [f"{line}\n" for line in run.tail]


def test_a_failure_names_the_command_code_and_last_lines(tmp_path: Path) -> None:
    run = run_training(f"seq 1 {TAIL_LINES + 5} && exit 4", tmp_path)
    assert not run.succeeded
    assert run.failure().startswith(f"model.train `seq 1 {TAIL_LINES + 5} && exit 4` exited with 4 "
                                    "after ")
    kept = " / ".join(str(n) for n in range(6, TAIL_LINES + 6))
    assert run.failure().endswith(f" s; last output: {kept}")
