"""Gate results are data; the PR comment, JSON, JUnit and HTML reports are views of it.

Charts travel as plain JSON in `GateResult.charts` (name -> chart) so a saved report can be
re-rendered later. Every chart has a `kind`; build them with the `*_chart` helpers below so the
Markdown (Mermaid) and HTML (SVG) views can draw them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field, computed_field

from mlops.spec.threshold import Threshold, format_number

Status = Literal["pass", "warn", "fail", "error", "skip"]
SCHEMA_VERSION = 1
_FAILING: set[str] = {"fail", "error"}
HEADLINE = "headline"
"""Set `details[HEADLINE] = True` on a check that the PR comment's table should always show."""
_ORDER: dict[str, int] = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 4}


class CheckResult(BaseModel):
    """One checked condition: what was observed, what was required, and a sentence saying so."""

    gate: str
    name: str
    status: Status
    message: str
    observed: float | str | None = None
    threshold: str | None = None
    unit: str = ""
    baseline: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def delta(self) -> float | None:
        """Observed minus baseline, when both are numbers."""
        if isinstance(self.observed, int | float) and self.baseline is not None:
            return float(self.observed) - self.baseline
        return None

    @property
    def failed(self) -> bool:
        return self.status in _FAILING


class GateResult(BaseModel):
    """All checks of one gate, plus the raw figures reports plot (histograms, time series...)."""

    gate: str
    checks: list[CheckResult] = Field(default_factory=list)
    duration_s: float = 0.0
    charts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    summary: str | None = None
    """One line a reviewer reads first (the load gate: p95 and throughput against the baseline);
    the PR comment and the HTML report open the gate's section with it."""
    summary_chart: str | None = None
    """The key of the chart shown right under `summary`, outside the collapsed details."""
    attachments: dict[str, str] = Field(default_factory=dict)
    """Files the gate kept beside the report (label -> path relative to the report's folder,
    e.g. Locust's HTML reports); the HTML report links them."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return worst(check.status for check in self.checks) if self.checks else "skip"


class FileFingerprint(BaseModel):
    """A file a run read, as it was: path relative to the repository, `sha256:<hex>`, size, and
    rows when its format says so without a scan (Parquet's footer)."""

    path: str
    sha256: str
    bytes: int
    rows: int | None = None


class BaselinePin(BaseModel):
    """The baseline model the gates compared against: where git had it, and its digest."""

    ref: str
    commit: str
    sha256: str


class Pins(BaseModel):
    """What a verdict depends on besides the commit, so a report can be traced and re-run."""

    tool_version: str
    spec_sha256: str
    model: FileFingerprint | None = None
    """None when the model file did not exist after the run (a failed training)."""
    baseline_model: BaselinePin | None = None
    """Set when a gate that compares with the baseline ran and git had one."""
    data: list[FileFingerprint] = Field(default_factory=list)


class Report(BaseModel):
    """A release-gate run: the JSON report's root and the source of every other format.

    `pins` is additive and optional (None in reports written before it), so the schema version
    stays 1: older readers ignore it, and this one re-renders their reports."""

    schema_version: int = SCHEMA_VERSION
    kind: Literal["release", "monitor"] = "release"
    """What ran: release gates, or a production monitor run (titles and verdicts differ)."""
    spec_name: str
    spec_path: str
    commit: str | None = None
    duration_s: float = 0.0
    gates: list[GateResult] = Field(default_factory=list)
    pins: Pins | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return worst(gate.status for gate in self.gates) if self.gates else "skip"

    @property
    def exit_code(self) -> int:
        """1 when any check failed or errored; warnings never fail a release."""
        return 1 if self.status in _FAILING else 0

    def counts(self) -> dict[Status, int]:
        """How many checks ended in each status, for summaries."""
        result: dict[Status, int] = {"pass": 0, "warn": 0, "fail": 0, "error": 0, "skip": 0}
        for gate in self.gates:
            for check in gate.checks:
                result[check.status] += 1
        return result


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status: error > fail > warn > pass > skip."""
    result: Status = "skip"
    for status in statuses:
        if _ORDER[status] > _ORDER[result]:
            result = status
    return result


def display_number(value: float) -> str:
    """Four significant digits, never scientific for ordinary magnitudes: 0.9737, 61.23, 10427, 3e-08."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) or abs(value) >= 1e4:
        return format_number(round(value))
    return f"{value:.4g}"


def compare(gate: str, name: str, label: str, observed: float, threshold: Threshold, *,
            unit: str = "", baseline: float | None = None,
            details: dict[str, Any] | None = None) -> CheckResult:
    """A threshold check with its sentence: 'p95 latency 61.2 ms, configured to fail when at or
    above 50 ms'."""
    suffix = f" {unit}" if unit else ""
    shown = display_number(observed)
    status: Status = "pass"
    if not threshold.passes(observed):
        status = "warn" if threshold.severity == "warn" else "fail"
    action = "warn" if threshold.severity == "warn" else "fail"
    comparison = threshold.comparison
    return CheckResult(
        gate=gate, name=name, status=status, observed=observed, threshold=str(comparison),
        unit=unit, baseline=baseline, details=details or {},
        message=f"{label} {shown}{suffix}, configured to {action} when "
                f"{comparison.describe_failure()}{suffix}",
    )


@dataclass(frozen=True)
class CheckFactory:
    """The CheckResults of one gate: each gate (and the monitor, and the release steps) builds its
    checks through one of these, so none has to repeat its name or the result's fields.

    `CHECK = CheckFactory("data")`, then `CHECK("train.file", "fail", message)`,
    `CHECK.compare(...)` for a threshold check, `CHECK.only(...)` for a gate that stops at one.
    """

    gate: str

    def __call__(self, name: str, status: Status, message: str, *,
                 observed: float | str | None = None, threshold: str | None = None,
                 unit: str = "", baseline: float | None = None,
                 details: dict[str, Any] | None = None) -> CheckResult:
        return CheckResult(gate=self.gate, name=name, status=status, message=message,
                           observed=observed, threshold=threshold, unit=unit, baseline=baseline,
                           details=details or {})

    def compare(self, name: str, label: str, observed: float, threshold: Threshold, *,
                unit: str = "", baseline: float | None = None,
                details: dict[str, Any] | None = None) -> CheckResult:
        """A threshold check of this gate (see `compare`)."""
        return compare(self.gate, name, label, observed, threshold, unit=unit, baseline=baseline,
                       details=details)

    def only(self, name: str, status: Status, message: str, *,
             details: dict[str, Any] | None = None) -> GateResult:
        """The gate's result when one check is all it has, e.g. the gate could not start."""
        return GateResult(gate=self.gate, checks=[self(name, status, message, details=details)])


# --- charts ----------------------------------------------------------------------------------

ChartKind = Literal["percentiles", "series", "histogram", "bars", "heatmap", "comparison"]


class PercentilesChart(TypedDict):
    """Latency percentiles against their SLOs (bench and load gates)."""

    kind: Literal["percentiles"]
    title: str
    unit: str
    labels: list[str]
    values: list[float]
    slo: dict[str, float]


class SeriesChart(TypedDict):
    """Values over time, e.g. requests/s each second of a load test."""

    kind: Literal["series"]
    title: str
    x_label: str
    y_label: str
    x: list[float]
    series: dict[str, list[float]]


class HistogramChart(TypedDict):
    """Counts between consecutive edges (len(edges) == len(counts) + 1)."""

    kind: Literal["histogram"]
    title: str
    unit: str
    edges: list[float]
    counts: list[int]


class BarsChart(TypedDict):
    """One value per label with an optional threshold line, e.g. drift score per feature."""

    kind: Literal["bars"]
    title: str
    labels: list[str]
    values: list[float]
    threshold: float | None
    higher_is_worse: bool


class HeatmapChart(TypedDict):
    """A square matrix, e.g. a confusion matrix (rows: actual, columns: predicted)."""

    kind: Literal["heatmap"]
    title: str
    labels: list[str]
    matrix: list[list[float]]
    x_label: str
    y_label: str


class ComparisonChart(TypedDict):
    """Two runs side by side (the load gate: candidate and baseline, measured in the same job):
    their latency distributions as percentiles, and their throughput each second."""

    kind: Literal["comparison"]
    title: str
    names: list[str]
    """[candidate, baseline], as the legend names them."""
    percentiles: list[str]
    latency_ms: list[list[float]]
    """Per name, the latency at each of `percentiles`."""
    slo: dict[str, float]
    """Latency limits by percentile label, drawn as marks."""
    throughput: list[list[float]]
    """Per name, requests/s in each second of its measurement (its rounds one after another)."""


def percentiles_chart(title: str, values: Mapping[str, float], *, unit: str = "ms",
                      slo: Mapping[str, float] | None = None) -> dict[str, Any]:
    chart: PercentilesChart = {
        "kind": "percentiles", "title": title, "unit": unit, "labels": list(values),
        "values": [float(v) for v in values.values()],
        "slo": {k: float(v) for k, v in (slo or {}).items()},
    }
    return dict(chart)


def series_chart(title: str, x: Sequence[float], series: Mapping[str, Sequence[float]], *,
                 x_label: str = "time (s)", y_label: str = "") -> dict[str, Any]:
    chart: SeriesChart = {"kind": "series", "title": title, "x_label": x_label, "y_label": y_label,
                          "x": [float(v) for v in x],
                          "series": {k: [float(v) for v in vs] for k, vs in series.items()}}
    return dict(chart)


def histogram_chart(title: str, edges: Sequence[float], counts: Sequence[int], *,
                    unit: str = "ms") -> dict[str, Any]:
    if len(edges) != len(counts) + 1:
        raise ValueError(f"a histogram needs len(edges) == len(counts) + 1, got {len(edges)} edges "
                         f"and {len(counts)} counts")
    chart: HistogramChart = {"kind": "histogram", "title": title, "unit": unit,
                             "edges": [float(v) for v in edges], "counts": [int(c) for c in counts]}
    return dict(chart)


def bars_chart(title: str, values: Mapping[str, float], *, threshold: float | None = None,
               higher_is_worse: bool = True) -> dict[str, Any]:
    chart: BarsChart = {"kind": "bars", "title": title, "labels": list(values),
                        "values": [float(v) for v in values.values()], "threshold": threshold,
                        "higher_is_worse": higher_is_worse}
    return dict(chart)


def heatmap_chart(title: str, labels: Sequence[str], matrix: Sequence[Sequence[float]], *,
                  x_label: str = "predicted", y_label: str = "actual") -> dict[str, Any]:
    chart: HeatmapChart = {"kind": "heatmap", "title": title, "labels": list(labels),
                           "matrix": [[float(v) for v in row] for row in matrix],
                           "x_label": x_label, "y_label": y_label}
    return dict(chart)


def comparison_chart(title: str, names: Sequence[str], percentiles: Sequence[str],
                     latency_ms: Sequence[Sequence[float]], throughput: Sequence[Sequence[float]],
                     *, slo: Mapping[str, float] | None = None) -> dict[str, Any]:
    if not len(names) == len(latency_ms) == len(throughput):
        raise ValueError(f"a comparison needs one latency and one throughput series per name, got "
                         f"{len(names)} names, {len(latency_ms)} and {len(throughput)}")
    chart: ComparisonChart = {
        "kind": "comparison", "title": title, "names": list(names),
        "percentiles": list(percentiles),
        "latency_ms": [[float(v) for v in values] for values in latency_ms],
        "slo": {k: float(v) for k, v in (slo or {}).items()},
        "throughput": [[float(v) for v in values] for values in throughput],
    }
    return dict(chart)
