"""Every registered command answers --help with its usage, and unknown commands are usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlops.cli.main import COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mlops", command, "--help"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: mlops {command} ")


def test_an_unknown_command_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "mlops", "deploy"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "No such command 'deploy'" in done.stderr
