"""One load measurement: the servers, and the Locust runs against them.

With a baseline model, both servers (the same server, one serving the candidate, one the baseline)
stay up for the whole measurement and Locust runs against one, then the other, in short rounds:
the candidate first in odd rounds, the baseline first in even ones (AB BA AB BA ...), each run
`duration / rounds` long. Whatever the machine does meanwhile (another job starting, a CPU
throttling) falls on both alike, and a drift over the run cancels out. Without one, the candidate
runs once for the whole duration, as a load test always did.

Each run keeps its Locust outputs in `<role>/run-<n>/` of the run folder, each server its log in
`<role>/server.log`.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlops.harness.gate import GateOptions
from mlops.harness.reports.paths import scrub
from mlops.spec.loader import LoadedSpec

from .locust import LoadRun, LoadStats, merge, run_locust
from .processes import ProcessGroup, terminate_as_interrupt
from .rows import local_rows_file
from .server import ServerFailed, container, start_process

Role = Literal["candidate", "baseline"]
ROLES: tuple[Role, Role] = ("candidate", "baseline")
MIN_ROUND_S = 2
"""Shortest round: Locust's `--run-time` counts whole seconds, and users still ramp up."""


@dataclass(frozen=True)
class Plan:
    """How the duration is cut: `rounds` runs per model of `round_s` seconds each."""

    rounds: int
    round_s: float


@dataclass(frozen=True)
class BaselineModel:
    """The baseline's ONNX bytes, its git ref and where they came from ('origin/main (3f2a1bc)')."""

    model: bytes
    ref: str
    where: str


@dataclass
class Measurement:
    """What Locust measured against each server, all of its runs merged."""

    candidate: LoadStats
    plan: Plan
    baseline: LoadStats | None = None
    not_compared: str | None = None
    """Why the baseline was not measured although one was found (it could not be served)."""
    runs: dict[Role, list[Path]] = field(default_factory=dict)
    """Each role's run folders, in order."""


def plan(duration_s: float, rounds: int) -> Plan:
    """As many rounds as asked for, as long as each lasts MIN_ROUND_S; about `duration_s` in all."""
    count = max(1, min(rounds, int(duration_s // MIN_ROUND_S)))
    return Plan(count, float(max(MIN_ROUND_S, round(duration_s / count))))


def schedule(rounds: int) -> list[tuple[int, Role]]:
    """(round, role) in running order: candidate then baseline, then the other way round, ..."""
    order: list[tuple[int, Role]] = []
    for number in range(1, rounds + 1):
        pair = ROLES if number % 2 else ROLES[::-1]
        order += [(number, role) for role in pair]
    return order


def measure(loaded: LoadedSpec, options: GateOptions, locustfile: Path, run_dir: Path,
            baseline: BaselineModel | None) -> Measurement:
    """Start the servers, run Locust against them, and stop everything, whatever happens."""
    load = loaded.spec.load
    for role in ROLES:  # this gate's own outputs from an earlier run
        shutil.rmtree(run_dir / role, ignore_errors=True)
    with terminate_as_interrupt(), ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlops-load-")))
        rows = local_rows_file(loaded, folder)
        group = stack.enter_context(ProcessGroup())
        urls: dict[Role, str] = {
            "candidate": _server(loaded, options, group, stack, run_dir / "candidate", None)}
        not_compared = None
        if baseline is not None:
            model = folder / "model.onnx"
            model.write_bytes(baseline.model)
            try:
                urls["baseline"] = _server(loaded, options, group, stack, run_dir / "baseline",
                                           model)  # fmt: skip
            except ServerFailed as failure:
                reason = scrub(str(failure).replace(str(model), loaded.spec.model.artifact),
                               loaded.root)
                not_compared = f"the baseline model at {baseline.where} could not be served: {reason}"
        cut = plan(load.duration, load.rounds) if "baseline" in urls else Plan(1, load.duration)
        stats: dict[Role, list[LoadStats]] = {role: [] for role in urls}
        runs: dict[Role, list[Path]] = {role: [] for role in urls}
        for number, role in schedule(cut.rounds):
            if role not in urls:
                continue
            out = run_dir / role / f"run-{number}"
            out.mkdir(parents=True, exist_ok=True)
            run = LoadRun(locustfile, urls[role], load.users, load.spawn_rate, cut.round_s,
                          load.workers, out, rows)  # fmt: skip
            stats[role].append(run_locust(run, group))
            runs[role].append(out)
    return Measurement(
        candidate=merge(stats["candidate"]), plan=cut,
        baseline=merge(stats["baseline"]) if "baseline" in stats else None,
        not_compared=not_compared, runs=runs,
    )  # fmt: skip


def _server(loaded: LoadedSpec, options: GateOptions, group: ProcessGroup, stack: ExitStack,
            folder: Path, model: Path | None) -> str:
    """One server's URL, up and ready; it stops with the group (a container, with the stack)."""
    folder.mkdir(parents=True, exist_ok=True)
    if options.target == "container":
        assert options.image is not None
        url: str = stack.enter_context(container(options.image, folder, model=model))
        return url
    return start_process(loaded, group, folder, options.serve_command, model=model)
