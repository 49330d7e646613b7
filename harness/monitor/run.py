"""One monitor run: window -> drift, prediction shift, live performance -> report + metrics -> exit.

Exit codes (decided in `exit_code` only): 1 when an alert condition holds (drifted fraction above
`max_drifted_features`, live performance on the wrong side of its bound, a challenger below
monitors.challenger's limits); otherwise 2 when the
monitor could not do its job (no request log folder, unreadable reference data); otherwise 0.
An empty window is a warning with exit 0: quiet hours are normal, and the MlopsMonitorStale rule
still sees the run. The last-run timestamp is exported only when nothing errored, so a monitor
that cannot read its inputs goes stale (and alerts) instead of reporting healthy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.core import telemetry
from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec

from ..data.drift import is_numeric
from ..engine import Engine
from ..reports.paths import spec_display
from ..reports.pins import pin
from ..result import CheckResult, GateResult, Report
from .challenger import challenger_checks
from .config import CHECK, MonitorConfig
from .drift import drift_checks, prediction_checks
from .feedback import Feedback, FeedbackError, read_feedback
from .performance import feedback_check, join, performance_check
from .prometheus import Samples, push, write_textfile
from .reference import ReferenceData, predict_reference, read_reference
from .requestlog import LogWindow, read_window

EXIT_OK, EXIT_ALERT, EXIT_FAILED = 0, 1, 2


@dataclass(frozen=True)
class MonitorRun:
    report: Report
    metrics: str
    exit_code: int


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _display(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def exit_code(report: Report) -> int:
    statuses = {check.status for gate in report.gates for check in gate.checks}
    if "fail" in statuses:
        return EXIT_ALERT
    return EXIT_FAILED if "error" in statuses else EXIT_OK


def run_monitor(loaded: LoadedSpec, config: MonitorConfig, now: float,
                engine: Engine | None = None) -> MonitorRun:
    """Examine the window ending at `now`, write the reports' data and the metrics; the
    reference is read on `engine` (default: this machine's cores)."""
    started = time.perf_counter()
    spec, root = loaded.spec, loaded.root
    checks: list[CheckResult] = []
    charts: dict[str, dict[str, Any]] = {}
    samples = Samples()
    feedback = _feedback(config, root, checks)
    columns = spec.data.columns
    drift_features = config.drift.features if config.drift else ()
    numeric = [f for f in spec.data.features if is_numeric(columns[f])]
    categorical = [f for f in drift_features if f in columns and not is_numeric(columns[f])]
    window = _window(config, now, numeric, categorical, feedback, checks)
    if window is not None and window.rows and config.drift is not None:
        reference = _reference(loaded, config, numeric, categorical, checks, engine)
        if reference is not None and config.drift is not None:
            verdict = drift_checks(config.drift, reference, window)
            checks.extend(verdict.checks)
            charts.update(verdict.charts)
            scores = verdict.scores
            for feature, score in scores.items():
                samples.add(telemetry.DRIFT_SCORE, score.score,
                            {"model": config.model, "feature": feature, "method": score.method})
            if scores:
                drifted = sum(s.drifted(config.drift.threshold) for s in scores.values())
                samples.add(telemetry.DRIFTED_FRACTION, drifted / len(scores),
                            {"model": config.model})
            checks.extend(_prediction_shift(loaded, config, window))
    if config.performance is not None and feedback is not None and window is not None:
        labels = list(spec.model.labels or ())
        live = join(feedback, window.served, config.task, labels)
        checks.append(feedback_check(feedback, live, len(live.truth)))
        check, value = performance_check(config.performance, config.task, live,
                                         max(2, len(labels)))
        checks.append(check)
        if value is not None:
            samples.add(telemetry.PERFORMANCE, value,
                        {"model": config.model, "metric": config.performance.metric})
    if config.challenger is not None and window is not None:
        checks.extend(challenger_checks(config, window.folder, now, feedback,
                                        list(spec.model.labels or ()), samples))
    gate = GateResult(gate=CHECK.gate, checks=checks, charts=charts)
    if gate.status != "error":
        samples.add(telemetry.MONITOR_LAST_RUN, time.time(), {"model": config.model})
    text = samples.text()
    _export(config, text, gate)
    gate.duration_s = time.perf_counter() - started
    report = Report(kind="monitor", spec_name=spec.name, spec_path=spec_display(loaded.path),
                    gates=[gate], duration_s=gate.duration_s, pins=pin(loaded, ()))
    return MonitorRun(report, text, exit_code(report))


def _feedback(config: MonitorConfig, root: Path, checks: list[CheckResult]) -> Feedback | None:
    rules = config.performance
    if rules is None:
        return None
    display = _display(rules.labels, root)
    if not rules.labels.is_file():
        checks.append(CHECK(f"performance.{rules.metric}", "skip",
                            f"{display} not found: live {rules.metric} not computed (no labels "
                            "have arrived yet)"))
        return None
    try:
        return read_feedback(rules.labels, display)
    except (FeedbackError, OSError, UnicodeDecodeError) as error:
        checks.append(CHECK("feedback", "error", f"{display}: feedback not read: {error}"
                            if not isinstance(error, FeedbackError) else str(error)))
        return None


def _window(config: MonitorConfig, now: float, numeric: list[str], categorical: list[str],
            feedback: Feedback | None, checks: list[CheckResult]) -> LogWindow | None:
    folder = config.log_dir
    if folder is None:
        checks.append(CHECK("window", "error", "serving.request_log is not set: the server logs "
                            "no traffic, so there is nothing to monitor (set it, or pass "
                            "--log-dir)"))
        return None
    if isinstance(folder, Path) and not folder.is_dir():
        checks.append(CHECK("window", "error", f"request log folder {folder} not found: is "
                            "serving.request_log.path mounted here? (or pass --log-dir)"))
        return None
    start = now - config.window_s
    try:
        window = read_window(folder, start, now, config.model, numeric, categorical,
                             feedback.keys if feedback is not None else frozenset())
    except MlopsError as error:  # an object store that cannot be reached or listed
        checks.append(CHECK("window", "error", f"request log not read: {error}"))
        return None
    span = f"between {_utc(start)} and {_utc(now)}"
    if window.rows:
        served = f"; served by {window.served_by()}" if window.digests else ""
        checks.append(CHECK("window", "pass", f"{window.rows} rows logged {span} in {folder} "
                            f"({window.files} file{'s' if window.files != 1 else ''} read"
                            f"{served})", observed=window.rows))
    else:
        aside = f" ({window.outside} logged rows fall outside it)" if window.outside else ""
        checks.append(CHECK("window", "warn", f"no requests logged {span} in {folder}{aside}: "
                            "nothing to compare; an empty window is not an alert", observed=0))
    if window.corrupt:
        shown = "; ".join(str(p) for p in window.problems)
        more = f" and {window.corrupt - len(window.problems)} more" if (
            window.corrupt > len(window.problems)) else ""
        checks.append(CHECK("log.lines", "warn", f"{window.corrupt} log line"
                            f"{'s' if window.corrupt != 1 else ''} skipped: {shown}{more}",
                            observed=window.corrupt))
    if window.unreadable:
        checks.append(CHECK("log.files", "warn", "; ".join(str(p) for p in window.unreadable),
                            observed=len(window.unreadable)))
    return window


def _reference(loaded: LoadedSpec, config: MonitorConfig, numeric: list[str],
               categorical: list[str], checks: list[CheckResult],
               engine: Engine | None) -> ReferenceData | None:
    try:
        return read_reference(loaded, config.reference, numeric, categorical, engine)
    except MlopsError as error:
        checks.append(CHECK("reference", "error", f"reference data not read: {error}"))
        return None


def _prediction_shift(loaded: LoadedSpec, config: MonitorConfig,
                      window: LogWindow) -> list[CheckResult]:
    assert config.drift is not None
    try:
        from mlops.core.runtime import FeedError, ModelError
    except ImportError as error:
        return [CHECK("prediction.score", "skip", f"prediction shift not computed: {error}")]
    try:
        predictions = predict_reference(loaded, config.reference)
    except (ModelError, FeedError, MlopsError, OSError) as error:
        return [CHECK("prediction.score", "skip", f"prediction shift not computed: {error}")]
    return prediction_checks(config.drift, predictions, window)


def _export(config: MonitorConfig, text: str, gate: GateResult) -> None:
    try:
        write_textfile(config.textfile, text)
    except OSError as error:
        gate.checks.append(CHECK("metrics.textfile", "error",
                                 f"cannot write {config.textfile}: {error.strerror}"))
    if config.pushgateway:
        problem = push(config.pushgateway, config.job, config.model, text)
        gate.checks.append(CHECK("metrics.push", "warn" if problem else "pass",
                                 f"Pushgateway: {problem}" if problem
                                 else f"pushed to {config.pushgateway} (job {config.job})"))
