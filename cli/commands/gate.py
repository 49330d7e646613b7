"""`mlops gate` and `mlops release`: run release gates and write their reports.

The exit code comes from the results: 1 when any error-severity check fails (or a gate errors),
0 otherwise; warnings never fail. Every run writes its reports, failing or not.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlops.harness.gate import GateOptions
from mlops.harness.registry import GATE_NAMES
from mlops.harness.release import run_release
from mlops.harness.reports import write_reports
from mlops.harness.result import Report
from mlops.harness.runner import Progress, run_gates
from mlops.spec.loader import load_spec
from mlops.spec.models import DataEngine

from .options import address_option, engine_option, spec_argument

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
@engine_option
@address_option
def gate(which: str, spec_path: Path, report_dir: Path, target: str, image: str | None,
         engine: DataEngine | None, address: str | None) -> int:
    """Run one release gate (or all) on MLOPS_YAML and write the reports."""
    loaded = load_spec(spec_path, check_files=False)
    names = GATE_NAMES if which == "all" else (which,)
    options = GateOptions(target="container" if target == "container" else "process", image=image,
                          report_dir=report_dir, engine=engine, address=address)
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
    options = GateOptions(retrain=retrain, report_dir=report_dir)
    return _finish(run_release(loaded, options, Progress()), report_dir)


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
