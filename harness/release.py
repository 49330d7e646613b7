"""The release pipeline (`mlops release`): the spec is valid, the generated files are current, the
model is trained when it must be, then every gate runs.

The steps before the gates are the checks of a `release` result that leads the report, so a stale
generated file or a failed training is read in the same table as the gates; a step that fails does
not stop the gates (each says what it could not do).
"""

from __future__ import annotations

import time
from pathlib import Path

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from .gate import GateOptions
from .registry import GATE_NAMES
from .reports.paths import spec_display
from .result import CheckFactory, CheckResult, GateResult, Report
from .runner import Progress, run_gates
from .training import run_training

CHECK = CheckFactory("release")
SHOWN_STALE = 5
"""Stale generated files named in the compile check's sentence; the rest are counted."""


def run_release(loaded: LoadedSpec, options: GateOptions, progress: Progress) -> Report:
    """The release steps, then every gate in order (`options.retrain` retrains the model)."""

    def steps() -> GateResult:
        started = time.perf_counter()
        spec = loaded.spec
        checks = [CHECK("validate", "pass", f"{spec_display(loaded.path)}: valid ({spec.name}: "
                                            f"{spec.model.task}, {len(spec.data.features)} features)")]
        with progress.step("compile --check"):
            checks.append(compile_check(loaded.path))
        checks.append(train_step(loaded, options.retrain, progress))
        return GateResult(gate=CHECK.gate, checks=checks, duration_s=time.perf_counter() - started)

    return run_gates(loaded, GATE_NAMES, options, progress=progress, before=[steps])


def compile_check(spec_path: Path) -> CheckResult:
    """`mlops compile --check` as a check: generated files must match the spec.

    The one import of another phase by the harness (ARCHITECTURE.md, "Imports"): imported here,
    when the release runs, so `mlops gate` never loads the compiler."""
    try:
        from mlops.compiler.compile import prepare
        from mlops.compiler.writer import CHECK_LABELS, Status
    except ImportError as error:
        return CHECK("compile", "skip", f"compile --check not run: the compiler is not available "
                                        f"({error})")
    try:
        units = prepare([spec_path])
    except MlopsError as error:
        return CHECK("compile", "fail", f"compile --check failed: {error}")
    stale = [d for unit in units for d in unit.decisions if d.status is not Status.IDENTICAL]
    if stale:
        listed = ", ".join(f"{CHECK_LABELS[d.status]}: {d.path}" for d in stale[:SHOWN_STALE])
        more = f" and {len(stale) - SHOWN_STALE} more" if len(stale) > SHOWN_STALE else ""
        return CHECK("compile", "fail", f"{len(stale)} generated file(s) out of date ({listed}{more}); "
                                        f"run `mlops compile {spec_display(spec_path)}`",
                     observed=len(stale))
    files = sum(len(unit.files) for unit in units)
    return CHECK("compile", "pass", f"{files} generated files up to date", observed=0)


def train_step(loaded: LoadedSpec, retrain: bool, progress: Progress) -> CheckResult:
    """Run model.train in the spec's folder when the artifact is missing or `retrain` is set; its
    output streams to the progress stream, and its last lines explain a failure."""
    model = loaded.spec.model
    artifact = loaded.resolve(model.artifact)
    if artifact.is_file() and not retrain:
        return CHECK("train", "skip", f"{model.artifact} exists; not retrained (pass --retrain to "
                                      "retrain)")
    if not model.train:
        return CHECK("train", "fail", f"{model.artifact} is missing and model.train is not set")
    progress.stream.write(f"training: {model.train}\n")
    try:
        run = run_training(model.train, loaded.root, lambda line: progress.stream.write(f"  | {line}"))
    except OSError as error:
        return CHECK("train", "fail", f"cannot run model.train `{model.train}`: {error}")
    if not run.succeeded:
        return CHECK("train", "fail", run.failure(), observed=run.code)
    if not artifact.is_file():
        return CHECK("train", "fail", f"model.train `{model.train}` succeeded but did not write "
                                      f"{model.artifact}")
    return CHECK("train", "pass", f"trained with `{model.train}` in {run.elapsed_s:.1f} s",
                 observed=round(run.elapsed_s, 1), unit="s")
