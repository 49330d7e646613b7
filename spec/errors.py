"""One error root for the whole tool: user mistakes are `MlopsError`s, everything else is a bug.

The CLI maps `MlopsError` to a located message and exit 1 (exit 2 for `UsageError`); any other
exception is a defect and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class MlopsError(Exception):
    """A problem the user can fix (bad spec, bad data, failed tool); never a bug in mlops."""

    exit_code = 1


class UsageError(MlopsError):
    """A command was called wrongly (bad flag combination, missing argument)."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One located problem in a spec file: `file:line:col: key.path: message`."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(MlopsError):
    """The spec has one or more problems; all of them are carried, sorted by position."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))
