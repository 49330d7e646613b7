"""Errors of the load -> validate phase: located diagnostics, collected and raised once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlops.core.errors import MlopsError


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
