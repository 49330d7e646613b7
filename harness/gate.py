"""The gate protocol: each release gate turns a spec (and the repository) into a GateResult."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from mlops.spec.loader import LoadedSpec

from .result import GateResult

LoadTarget = Literal["process", "container"]


@dataclass(frozen=True)
class GateOptions:
    """Run-wide switches from the command line."""

    target: LoadTarget = "process"
    retrain: bool = False
    image: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Gate(Protocol):
    """One release gate (data, model, bench, load, ...), registered in `harness.registry`."""

    name: str

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        """Evaluate every check of this gate; user-facing problems become failed checks."""
        ...
