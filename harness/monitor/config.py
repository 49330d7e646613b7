"""What one monitor run needs, from the spec or from the generated `monitor.yaml`.

`from_spec` computes the same values the compiler writes into `generated/monitoring/monitor.yaml`
(a test holds the two equal), so the workflow (which passes only mlops.yaml) and the CronJob
(which also mounts the ConfigMap and passes `--config`) run the same job. Relative paths are
relative to the spec's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlops.core.catalogue import LOWER_IS_BETTER, DriftMethod
from mlops.core.errors import MlopsError
from mlops.core.locations import absolute
from mlops.spec.loader import LoadedSpec
from mlops.spec.types import parse_duration

from ..result import CheckFactory

CHECK = CheckFactory("monitor")
"""Every check of a monitor run belongs to one gate, `monitor`, in its report."""
AlertWhen = Literal["below", "above"]
"""Error metrics: `monitors.performance.min` is then a ceiling (as the generated rules read it)."""
DEFAULT_REPORTS = "reports/monitor"
DEFAULT_JOB = "mlops-monitor"


class MonitorError(MlopsError):
    """The monitor could not run at all. Exit 2: the workflow reads exit 1 as 'an alert fired'."""

    exit_code = 2


@dataclass(frozen=True)
class DriftRules:
    method: DriftMethod
    threshold: float
    max_drifted_features: float
    bins: int
    features: tuple[str, ...]


@dataclass(frozen=True)
class PerformanceRules:
    metric: str
    threshold: float
    alert_when: AlertWhen
    labels: Path


@dataclass(frozen=True)
class ChallengerRules:
    """monitors.challenger: how far serving.challenger may fall from the champion."""

    min_agreement: float
    tolerance: float
    method: DriftMethod
    max_prediction_shift: float
    max_metric_drop: float | None
    min_requests: int


@dataclass(frozen=True)
class MonitorConfig:
    model: str
    task: str
    window_s: float
    log_dir: Path | str | None
    """The request log: a local folder, or the object-store prefix the servers upload to."""
    reference: str
    """The reference data's location: an absolute path or an object-store URI."""
    drift: DriftRules | None
    performance: PerformanceRules | None
    textfile: Path
    pushgateway: str | None
    job: str
    report_dir: Path
    on_alert: tuple[str, ...]
    challenger: ChallengerRules | None = None

    @classmethod
    def from_spec(cls, loaded: LoadedSpec) -> MonitorConfig:
        spec, root = loaded.spec, loaded.root
        monitors, log = spec.monitors, spec.serving.request_log
        drift = None if monitors.drift is None else DriftRules(
            monitors.drift.method, monitors.drift.threshold, monitors.drift.max_drifted_features,
            spec.data.drift.bins, tuple(spec.data.drift.features or spec.data.features))
        performance = None if monitors.performance is None else PerformanceRules(
            monitors.performance.metric, monitors.performance.min,
            "above" if monitors.performance.metric in LOWER_IS_BETTER else "below",
            root / monitors.performance.labels)
        return cls(
            model=spec.name, task=spec.model.task, window_s=monitors.window,
            log_dir=None if log is None else log.upload or root / log.path,
            reference=absolute(root, spec.data.reference_path), drift=drift, performance=performance,
            textfile=root / DEFAULT_REPORTS / "metrics.prom", pushgateway=monitors.pushgateway,
            job=DEFAULT_JOB, report_dir=root / DEFAULT_REPORTS, on_alert=tuple(monitors.on_alert),
            challenger=None if monitors.challenger is None else ChallengerRules(
                monitors.challenger.min_agreement, monitors.challenger.tolerance,
                monitors.challenger.method, monitors.challenger.max_prediction_shift,
                monitors.challenger.max_metric_drop, monitors.challenger.min_requests))

    @classmethod
    def from_file(cls, path: Path, loaded: LoadedSpec) -> MonitorConfig:
        """Read a `monitor.yaml` as the compiler writes it (the CronJob's ConfigMap)."""
        try:
            document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise MonitorError(f"{path}: cannot read the monitor config: {error.strerror}") from None
        except YAMLError as error:
            raise MonitorError(f"{path}: not valid YAML: {error}") from None
        reader = _Reader(path, document)
        root = loaded.root
        log = reader.optional_section("request_log")
        drift = reader.optional_section("drift")
        performance = reader.optional_section("performance")
        challenger = reader.optional_section("challenger")
        metrics = reader.section("metrics")
        return cls(
            model=reader.text(reader.doc, "model"), task=reader.text(reader.doc, "task"),
            window_s=reader.duration("window"),
            log_dir=None if log is None else (
                reader.text(log, "request_log.upload") if log.get("upload") is not None
                else root / reader.text(log, "request_log.path")),
            reference=absolute(root, reader.text(reader.doc, "reference")),
            drift=None if drift is None else DriftRules(
                reader.choice(drift, "drift.method", ("psi", "ks", "wasserstein", "jensen_shannon",
                                                      "chi2")),
                reader.number(drift, "drift.threshold"),
                reader.number(drift, "drift.max_drifted_features"),
                int(reader.number(drift, "drift.bins")),
                tuple(str(f) for f in reader.items(drift, "drift.features"))),
            performance=None if performance is None else PerformanceRules(
                reader.text(performance, "performance.metric"),
                reader.number(performance, "performance.threshold"),
                reader.choice(performance, "performance.alert_when", ("below", "above")),
                root / reader.text(performance, "performance.labels")),
            textfile=root / reader.text(metrics, "metrics.textfile"),
            pushgateway=metrics.get("pushgateway") or None,
            job=str(metrics.get("job") or DEFAULT_JOB),
            report_dir=root / reader.text(reader.doc, "reports"),
            on_alert=tuple(str(a) for a in reader.items(reader.doc, "on_alert")),
            challenger=None if challenger is None else ChallengerRules(
                reader.number(challenger, "challenger.min_agreement"),
                reader.number(challenger, "challenger.tolerance"),
                reader.choice(challenger, "challenger.method", ("psi", "ks", "wasserstein",
                                                                "jensen_shannon", "chi2")),
                reader.number(challenger, "challenger.max_prediction_shift"),
                None if challenger.get("max_metric_drop") is None
                else reader.number(challenger, "challenger.max_metric_drop"),
                int(reader.number(challenger, "challenger.min_requests"))),
        )

    def with_overrides(self, *, log_dir: Path | None, window_s: float | None,
                       feedback: Path | None, report_dir: Path | None,
                       textfile: Path | None, push: bool = True) -> MonitorConfig:
        """Command-line values win. A textfile inside the reports folder moves with --report-dir."""
        config = self if push else replace(self, pushgateway=None)
        if log_dir is not None:
            config = replace(config, log_dir=log_dir)
        if window_s is not None:
            config = replace(config, window_s=window_s)
        if feedback is not None and config.performance is not None:
            config = replace(config, performance=replace(config.performance, labels=feedback))
        if report_dir is not None:
            moved = config.textfile
            if moved.is_relative_to(config.report_dir):
                moved = report_dir / moved.relative_to(config.report_dir)
            config = replace(config, report_dir=report_dir, textfile=moved)
        if textfile is not None:
            config = replace(config, textfile=textfile)
        return config


class _Reader:
    """Typed access to the monitor.yaml document; every problem names the file and key."""

    def __init__(self, path: Path, document: Any) -> None:
        if not isinstance(document, dict):
            raise MonitorError(f"{path}: expected a mapping of monitor settings")
        self.path = path
        self.doc: dict[str, Any] = document

    def _fail(self, key: str, expected: str, value: Any) -> MonitorError:
        return MonitorError(f"{self.path}: '{key}': expected {expected}, got {value!r}")

    def section(self, key: str) -> dict[str, Any]:
        value = self.doc.get(key)
        if not isinstance(value, dict):
            raise self._fail(key, "a mapping", value)
        return value

    def optional_section(self, key: str) -> dict[str, Any] | None:
        return None if self.doc.get(key) is None else self.section(key)

    def text(self, mapping: dict[str, Any], key: str) -> str:
        value = mapping.get(key.rpartition(".")[2])
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a string", value)
        return value

    def number(self, mapping: dict[str, Any], key: str) -> float:
        value = mapping.get(key.rpartition(".")[2])
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number", value)
        return float(value)

    def items(self, mapping: dict[str, Any], key: str) -> list[Any]:
        value = mapping.get(key.rpartition(".")[2])
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        return value

    def choice(self, mapping: dict[str, Any], key: str, allowed: tuple[Any, ...]) -> Any:
        value = mapping.get(key.rpartition(".")[2])
        if value not in allowed:
            raise self._fail(key, f"one of {', '.join(allowed)}", value)
        return value

    def duration(self, key: str) -> float:
        try:
            return parse_duration(self.doc.get(key))
        except ValueError:
            raise self._fail(key, "a duration like '1h'", self.doc.get(key)) from None
