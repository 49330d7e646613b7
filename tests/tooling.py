"""External tools the suite drives for real: under CI=true a missing one FAILS the test (CI must
run every validator); elsewhere it skips, saying how to install it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

INSTALL = "run `make tools` (CI installs it)"
NO_COMPILE = {"PIP_COMPILE": "0"}
"""Environment for a pip that installs into a fresh venv: the same distributions without
byte-compiling every module of pandas, scipy and pyarrow up front (the PR workflow's install line:
69 -> 33 CPU-seconds, 73 -> 62 s of wall time on a 2-core machine at load 2); what a command
imports is compiled on first import, as usual. Not PIP_NO_COMPILE=1: pip reads a variable named
after a negative option as the value of the positive one, so that turns compiling on."""


def missing(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must run every tool-backed test")
    pytest.skip(message)


def require_tool(name: str, hint: str = INSTALL, *, path: Path | None = None) -> str:
    """The tool's path: `path` if given and present, else on PATH or in this venv's bin."""
    if path is not None:
        if path.exists():
            return str(path)
        missing(f"{path} is not installed ({hint})")
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which(name, path=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        missing(f"{name} is not installed ({hint})")
    return found
