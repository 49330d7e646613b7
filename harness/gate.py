"""The gate protocol: each release gate turns a spec (and the repository) into a GateResult."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mlops.spec.loader import LoadedSpec
from mlops.spec.models import DataEngine

from .result import GateResult

LoadTarget = Literal["process", "container"]


@dataclass(frozen=True)
class GateOptions:
    """Run-wide switches from the command line."""

    target: LoadTarget = "process"
    """Load gate: run the server as a process or the built image (`--target`)."""
    retrain: bool = False
    image: str | None = None
    """Load gate with `target="container"`: the image to run (`--image`)."""
    report_dir: Path | None = None
    """Where the reports are written (`--report-dir`; a relative path is relative to the current
    folder, as for the reports). The load gate keeps Locust's files in its `load/` folder. None:
    `reports/` in the spec's folder."""
    engine: DataEngine | None = None
    """Data gate: where the parts are tallied (`--engine`; None: the spec's data.engine)."""
    address: str | None = None
    """Data gate with the Ray engine: the cluster (`--address`; None: data.ray_address)."""
    serve_command: str | None = None
    """Load gate: a command template started instead of `mlops serve`, e.g. a team's own server or
    a fault-injecting proxy (see `harness.load.server.start_process`)."""


class Gate(Protocol):
    """One release gate (data, model, bench, load, ...), registered in `harness.registry`."""

    name: str

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        """Evaluate every check of this gate; user-facing problems become failed checks."""
        ...
