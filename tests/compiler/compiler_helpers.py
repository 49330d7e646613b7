"""Helpers for compiler tests: compile a case into a scratch repository, find the real tools.

A plain module (not conftest), imported as `tests.compiler.compiler_helpers`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlops.compiler.compile import prepare, write
from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "fixtures" / "specs"
GOLDEN = ROOT / "tests" / "golden"
VENV_BIN = Path(sys.executable).parent
# case name -> the spec folder it is compiled from (the root case copies only mlops.yaml)
CASES = {"breast-cancer": ROOT, **{p.name: p for p in sorted(SPECS.iterdir()) if p.is_dir()}}


def copy_case(case: str, destination: Path) -> Path:
    """A scratch repository holding one case's spec (and its data); returns the spec file."""
    source = CASES[case]
    destination.mkdir(parents=True, exist_ok=True)
    if source == ROOT:
        shutil.copy(ROOT / "mlops.yaml", destination / "mlops.yaml")
    else:
        shutil.copytree(source, destination, dirs_exist_ok=True)
    return destination / "mlops.yaml"


def compile_case(case: str, destination: Path) -> Path:
    """Copy and compile a case; returns the scratch repository root."""
    spec = copy_case(case, destination)
    write(prepare([spec]))
    return destination


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root (hidden ones too), by POSIX relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def tool_env() -> dict[str, str]:
    """The environment for external tools: the venv's bin first (shellcheck for actionlint)."""
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def find_tool(name: str, install_hint: str) -> str:
    """A validator's path (see tests/tooling.py: a failure under CI=true, a skip otherwise)."""
    return require_tool(name, install_hint)


def run_tool(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=tool_env(), capture_output=True, text=True,
                          timeout=300, check=False)
