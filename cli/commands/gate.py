"""`mlops gate` and `mlops release`: run release gates and write their reports.

The exit code comes from the results: 1 when any error-severity check fails (or a gate errors),
0 otherwise; warnings never fail. Every run writes its reports, failing or not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import click

from mlops.core.errors import MlopsError
from mlops.harness.gate import GateOptions
from mlops.harness.registry import GATE_NAMES
from mlops.harness.reports import write_reports
from mlops.harness.result import CheckResult, GateResult, Report
from mlops.harness.runner import Progress, run_gates
from mlops.spec.loader import LoadedSpec, load_spec

from .options import spec_argument

DEFAULT_REPORT_DIR = Path("reports")
report_dir_option = click.option(
    "--report-dir", type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_REPORT_DIR, show_default=True,
    help="Folder for report.{md,json,html} and junit.xml (one gate alone: report-GATE.md, ...).")


@click.command()
@click.argument("which", metavar="{" + ",".join([*GATE_NAMES, "all"]) + "}",
                type=click.Choice([*GATE_NAMES, "all"]))
@spec_argument
@report_dir_option
@click.option("--target", type=click.Choice(["process", "container"]), default="process",
              show_default=True, help="Load gate: run the server as a process or the built image.")
@click.option("--image", default=None, help="Load gate with --target container: image to run.")
def gate(which: str, spec_path: Path, report_dir: Path, target: str, image: str | None) -> int:
    """Run one release gate (or all) on MLOPS_YAML and write the reports."""
    loaded = load_spec(spec_path, check_files=False)
    names = GATE_NAMES if which == "all" else (which,)
    options = GateOptions(target="container" if target == "container" else "process", image=image)
    # One gate alone writes report-<gate>.*: running gates one by one keeps each one's report.
    return _finish(run_gates(loaded, names, options), report_dir,
                   name=None if which == "all" else which)


@click.command()
@spec_argument
@report_dir_option
@click.option("--retrain", is_flag=True, help="Run model.train even when the artifact exists.")
def release(spec_path: Path, report_dir: Path, retrain: bool) -> int:
    """Validate, check generated files, train if needed, run every gate, write the reports."""
    loaded = load_spec(spec_path, check_files=False)
    progress = Progress()

    def steps() -> GateResult:
        started = time.perf_counter()
        spec = loaded.spec
        checks = [CheckResult(
            gate="release", name="validate", status="pass",
            message=f"{spec_path}: valid ({spec.name}: {spec.model.task}, "
                    f"{len(spec.data.features)} features)")]
        with progress.step("compile --check"):
            checks.append(compile_check(spec_path))
        checks.append(train_step(loaded, retrain, progress))
        return GateResult(gate="release", checks=checks, duration_s=time.perf_counter() - started)

    report = run_gates(loaded, GATE_NAMES, GateOptions(retrain=retrain), progress=progress,
                       before=[steps])
    return _finish(report, report_dir)


def compile_check(spec_path: Path) -> CheckResult:
    """`mlops compile --check` as a check: generated files must match the spec."""
    try:
        from mlops.compiler.compile import prepare
        from mlops.compiler.writer import CHECK_LABELS, Status
    except ImportError as error:
        return CheckResult(gate="release", name="compile", status="skip",
                           message=f"compile --check not run: the compiler is not available "
                                   f"({error})")
    try:
        units = prepare([spec_path])
    except MlopsError as error:
        return CheckResult(gate="release", name="compile", status="fail",
                           message=f"compile --check failed: {error}")
    stale = [d for unit in units for d in unit.decisions if d.status is not Status.IDENTICAL]
    if stale:
        listed = ", ".join(f"{CHECK_LABELS[d.status]}: {d.path}" for d in stale[:5])
        more = f" and {len(stale) - 5} more" if len(stale) > 5 else ""
        return CheckResult(gate="release", name="compile", status="fail", observed=len(stale),
                           message=f"{len(stale)} generated file(s) out of date ({listed}{more}); "
                                   f"run `mlops compile {spec_path}`")
    files = sum(len(unit.files) for unit in units)
    return CheckResult(gate="release", name="compile", status="pass", observed=0,
                       message=f"{files} generated files up to date")


def train_step(loaded: LoadedSpec, retrain: bool, progress: Progress) -> CheckResult:
    """Run model.train in the spec's folder when the artifact is missing or --retrain is given."""
    model = loaded.spec.model
    artifact = loaded.resolve(model.artifact)
    if artifact.is_file() and not retrain:
        return CheckResult(gate="release", name="train", status="skip",
                           message=f"{model.artifact} exists; not retrained (pass --retrain to "
                                   "retrain)")
    if not model.train:
        return CheckResult(gate="release", name="train", status="fail",
                           message=f"{model.artifact} is missing and model.train is not set")
    progress.stream.write(f"training: {model.train}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    tail: deque[str] = deque(maxlen=10)
    try:
        with subprocess.Popen(model.train, shell=True, cwd=loaded.root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              errors="replace") as process:
            assert process.stdout is not None
            for line in process.stdout:
                progress.stream.write(f"  | {line}")
                tail.append(line.rstrip())
            code = process.wait()
    except OSError as error:
        return CheckResult(gate="release", name="train", status="fail",
                           message=f"cannot run model.train `{model.train}`: {error}")
    elapsed = time.perf_counter() - started
    if code != 0:
        last = " / ".join(line for line in tail if line)
        return CheckResult(gate="release", name="train", status="fail", observed=code,
                           message=f"model.train `{model.train}` exited with {code} after "
                                   f"{elapsed:.1f} s; last output: {last or '(none)'}")
    if not artifact.is_file():
        return CheckResult(gate="release", name="train", status="fail",
                           message=f"model.train `{model.train}` succeeded but did not write "
                                   f"{model.artifact}")
    return CheckResult(gate="release", name="train", status="pass", observed=round(elapsed, 1),
                       unit="s", message=f"trained with `{model.train}` in {elapsed:.1f} s")


def _finish(result: Report, report_dir: Path, name: str | None = None) -> int:
    written = write_reports(result, report_dir, name=name)
    click.echo(f"reports: {', '.join(str(path) for path in written)}", err=True)
    failed = [f"{c.gate}/{c.name}" for g in result.gates for c in g.checks if c.failed]
    if failed:
        shown = ", ".join(failed[:8]) + (f" and {len(failed) - 8} more" if len(failed) > 8 else "")
        click.echo(f"{result.spec_name}: FAILED ({len(failed)} failing checks: {shown})")
    else:
        warned = sum(1 for g in result.gates for c in g.checks if c.status == "warn")
        note = f" with {warned} warning(s)" if warned else ""
        click.echo(f"{result.spec_name}: passed{note}")
    return result.exit_code
