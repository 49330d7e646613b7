"""Running `model.train` the one way mlops runs it: a shell command in the spec's folder, with the
Python that runs mlops first on PATH (so `python train.py` trains with the packages mlops sees),
output merged and kept for the message that explains a failure.

`mlops release` trains with it in the repository, and the reproducibility check
(`model.reproducible`) in a clean checkout of the commit: the same command, environment and
working-directory rule in both, so a retraining that differs is the training's doing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 10
"""Last lines of output kept to explain a failed training."""


@dataclass(frozen=True)
class TrainingRun:
    """How one run of model.train ended."""

    command: str
    code: int
    elapsed_s: float
    tail: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        return self.code == 0

    def failure(self) -> str:
        """'model.train `CMD` exited with N after T s; last output: a / b' for a failed run."""
        last = " / ".join(line for line in self.tail if line)
        return (f"model.train `{self.command}` exited with {self.code} after {self.elapsed_s:.1f} "
                f"s; last output: {last or '(none)'}")


def training_environment() -> dict[str, str]:
    """This environment, with the running Python's folder first on PATH."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                  f"{os.environ.get('PATH', '')}"}


def run_training(command: str, folder: Path, echo: Callable[[str], object] | None = None) -> TrainingRun:
    """Run `command` in `folder` through the shell; `echo` gets each output line as it comes.
    OSError when the shell cannot be started."""
    started = time.perf_counter()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(command, shell=True, cwd=folder, env=training_environment(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            if echo is not None:
                echo(line)
            tail.append(line.rstrip())
        code = process.wait()
    return TrainingRun(command, code, time.perf_counter() - started, tuple(tail))
