"""`mlops monitor run`: the production monitor the scheduled workflow and the CronJob run.

Exit 0: no alert (warnings, such as an empty window, included); 1: an alert condition holds;
2: the monitor could not run (bad spec or config, no request log folder, unreadable reference,
--feedback without monitors.performance).
The generated workflow reads exactly these codes: 1 opens the alert issue, above 1 fails the run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from mlops.core.errors import MlopsError, UsageError
from mlops.spec.loader import load_spec
from mlops.spec.models import DataEngine
from mlops.spec.types import parse_duration

from .options import address_option, engine_option, spec_argument

path_option = click.Path(path_type=Path)


def _window(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _now(ctx: click.Context, param: click.Parameter, value: str | None) -> float:
    if value is None:
        return time.time()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected Unix seconds or an ISO 8601 time such as "
                                 f"2026-11-02T14:00:00Z, got {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@click.group()
def monitor() -> None:
    """Watch the served model in production: drift, prediction shift, live performance."""


@monitor.command("run")
@spec_argument
@click.option("--config", "config_path", type=path_option, default=None,
              help="A monitor.yaml as `mlops compile` writes it (generated/monitoring/monitor.yaml, "
                   "the CronJob's ConfigMap). Default: the same values, from MLOPS_YAML.")
@click.option("--log-dir", type=path_option, default=None,
              help="Request log folder (default: serving.request_log.upload's prefix, else "
                   "its path).")
@click.option("--window", callback=_window, default=None,
              help="Traffic examined, ending at --now, e.g. 1h (default: monitors.window).")
@click.option("--feedback", type=path_option, default=None,
              help="Labels file: request_id,row,label (default: monitors.performance.labels).")
@click.option("--report-dir", type=path_option, default=None,
              help="Folder for report.{md,json,html} and junit.xml (default: reports/monitor "
                   "beside MLOPS_YAML).")
@click.option("--textfile", type=path_option, default=None,
              help="Prometheus textfile-collector output (default: metrics.prom in the report "
                   "folder).")
@click.option("--push/--no-push", default=True, show_default=True,
              help="Push the results to monitors.pushgateway (--no-push: textfile only, e.g. "
                   "when run outside the cluster).")
@click.option("--now", callback=_now, default=None,
              help="End of the window: Unix seconds or ISO 8601 (default: the current time).")
@engine_option
@address_option
def run(spec_path: Path, config_path: Path | None, log_dir: Path | None, window: float | None,
        feedback: Path | None, report_dir: Path | None, textfile: Path | None, push: bool,
        now: float, engine: DataEngine | None, address: str | None) -> int:
    """Compare the logged traffic of one window with the reference; exit 1 on an alert."""
    try:
        from mlops.harness.monitor import MonitorConfig, MonitorError, run_monitor
    except ImportError as error:
        raise UsageError(f"mlops monitor run needs the monitor extra ({error}): pip install "
                         "'mlops-yaml[monitor]'; the serving image has it when "
                         "serving.request_log.claim lets the in-cluster monitor read the log") from None
    from mlops.harness.reports import write_reports

    try:
        loaded = load_spec(spec_path, check_files=False)
        base = (MonitorConfig.from_file(config_path, loaded) if config_path is not None
                else MonitorConfig.from_spec(loaded))
    except MonitorError:
        raise
    except MlopsError as error:
        raise MonitorError(str(error)) from None
    if feedback is not None and base.performance is None:
        where = f"{config_path} has no performance section" if config_path is not None else (
            f"{spec_path} sets no monitors.performance")
        raise UsageError(f"--feedback {feedback}: {where}, so no live metric reads labels")
    config = base.with_overrides(log_dir=log_dir, window_s=window, feedback=feedback,
                                 report_dir=report_dir, textfile=textfile, push=push)
    from mlops.harness.engine import data_engine, open_engine

    try:
        with open_engine(*data_engine(loaded.spec.data, engine, address)) as reader:
            result = run_monitor(loaded, config, now, reader)
    except UsageError:
        raise
    except MlopsError as error:  # no Ray cluster to run on: the monitor could not run
        raise MonitorError(str(error)) from None
    written = write_reports(result.report, config.report_dir)
    click.echo(f"reports: {', '.join(str(path) for path in written)}", err=True)
    click.echo(f"metrics: {config.textfile}", err=True)
    checks = [c for g in result.report.gates for c in g.checks]
    alerts = [c for c in checks if c.status == "fail"]
    if alerts:
        click.echo(f"{loaded.spec.name}: ALERT ({len(alerts)}): "
                   + "; ".join(f"{c.name}: {c.message}" for c in alerts))
    elif result.exit_code:
        click.echo(f"{loaded.spec.name}: the monitor could not run")
    else:
        click.echo(f"{loaded.spec.name}: no alert")
    for check in checks:
        if check.status not in ("pass", "fail"):
            click.echo(f"  {check.status}: {check.name}: {check.message}")
    return result.exit_code
