"""Run gates, time them, and collect one `Report`; one gate's crash never hides the others.

A user-facing problem raised by a gate (`MlopsError`) and a bug (any other exception) both become
an `error` check carrying the text, so the report and the exit code still say what happened.
Progress goes to stderr: a rich spinner on a terminal, plain lines when not a TTY or under CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TextIO

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from .gate import GateOptions
from .registry import get_gate
from .reports.paths import spec_display
from .reports.pins import pin
from .result import CheckFactory, GateResult, Report, Status

ICONS: dict[Status, str] = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥", "skip": "⏭️"}


class Progress:
    """Announces each step and its outcome; rich on a terminal, plain text otherwise."""

    def __init__(self, stream: TextIO | None = None, *, plain: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        if plain is None:
            plain = os.environ.get("CI", "").lower() == "true" or not self.stream.isatty()
        self.plain = plain

    def step(self, title: str) -> AbstractContextManager[object]:
        """A context shown while a long step runs (a spinner, or one plain line)."""
        if self.plain:
            self.stream.write(f"{title} ...\n")
            self.stream.flush()
            return nullcontext()
        from rich.console import Console

        return Console(file=self.stream).status(title)

    def done(self, result: GateResult) -> None:
        counts: dict[str, int] = {}
        for check in result.checks:
            counts[check.status] = counts.get(check.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        line = (f"{ICONS[result.status]} gate {result.gate}: {result.status} "
                f"({summary or 'no checks'}; {result.duration_s:.1f}s)")
        if self.plain:
            self.stream.write(line.replace(ICONS[result.status] + " ", "") + "\n")
        else:
            from rich.console import Console

            Console(file=self.stream, highlight=False).print(line, markup=False)
        for check in result.checks:
            if check.status in ("fail", "error", "warn"):
                self.stream.write(f"  {check.status}: {check.name}: {check.message}\n")
        self.stream.flush()


def run_gate(name: str, loaded: LoadedSpec, options: GateOptions) -> GateResult:
    """One gate, timed; any exception it raises becomes an `error` check."""
    started = time.perf_counter()
    check = CheckFactory(name)
    try:
        result = get_gate(name).run(loaded, options)
    except MlopsError as error:
        result = check.only("gate", "error", str(error))
    except Exception as error:  # a bug in a gate must not hide the other gates' results
        result = check.only("gate", "error",
                            f"the {name} gate crashed: {type(error).__name__}: {error}",
                            details={"traceback": traceback.format_exc()})
    result.duration_s = time.perf_counter() - started
    return result


def run_gates(loaded: LoadedSpec, names: Sequence[str], options: GateOptions, *,
              progress: Progress | None = None,
              before: Sequence[Callable[[], GateResult]] = ()) -> Report:
    """Run `before` steps (release: validate, compile check, train), then the gates, in order;
    then pin what they read (see `reports.pins`)."""
    progress = progress or Progress()
    started = time.perf_counter()
    report = Report(spec_name=loaded.spec.name, spec_path=spec_display(loaded.path),
                    commit=current_commit(loaded))
    for step in before:
        result = step()
        report.gates.append(result)
        progress.done(result)
    for name in names:
        with progress.step(f"gate {name}"):
            result = run_gate(name, loaded, options)
        report.gates.append(result)
        progress.done(result)
    try:
        report.pins = pin(loaded, names)
    except OSError as error:  # a file vanished or is unreadable: the gates' verdict still stands
        progress.stream.write(f"cannot pin the report's files: {error}\n")
    report.duration_s = time.perf_counter() - started
    return report


def current_commit(loaded: LoadedSpec) -> str | None:
    """HEAD of the spec's repository, if it is in one."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=loaded.root, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
