"""Gate results are data; the PR comment, JSON, JUnit and HTML reports are views of it."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from spec.threshold import Threshold, format_number

Status = Literal["pass", "warn", "fail", "error", "skip"]
SCHEMA_VERSION = 1
_FAILING: set[str] = {"fail", "error"}


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

    @property
    def delta(self) -> float | None:
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
    charts: dict[str, Any] = Field(default_factory=dict)

    @property
    def status(self) -> Status:
        return worst(check.status for check in self.checks) if self.checks else "skip"


class Report(BaseModel):
    """A release-gate run: the JSON report's root and the source of every other format."""

    schema_version: int = SCHEMA_VERSION
    spec_name: str
    spec_path: str
    commit: str | None = None
    gates: list[GateResult] = Field(default_factory=list)

    @property
    def status(self) -> Status:
        return worst(gate.status for gate in self.gates) if self.gates else "skip"

    @property
    def exit_code(self) -> int:
        """1 when any check failed or errored; warnings never fail a release."""
        return 1 if self.status in _FAILING else 0


_ORDER: dict[str, int] = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 4}


def worst(statuses: Any) -> Status:
    result: Status = "skip"
    for status in statuses:
        if _ORDER[status] > _ORDER[result]:
            result = status
    return result


def compare(gate: str, name: str, label: str, observed: float, threshold: Threshold, *,
            unit: str = "", baseline: float | None = None,
            details: dict[str, Any] | None = None) -> CheckResult:
    """A threshold check with its sentence: 'p95 latency 61.2 ms, configured to fail above 50 ms'."""
    suffix = f" {unit}" if unit else ""
    shown = "NaN" if math.isnan(observed) else format_number(round(observed, 4))
    comparison = threshold.comparison
    failure = comparison.describe_failure()
    if threshold.passes(observed):
        status: Status = "pass"
        verdict = f"configured to {'warn' if threshold.severity == 'warn' else 'fail'} when {failure}"
    else:
        status = "warn" if threshold.severity == "warn" else "fail"
        verdict = f"configured to {'warn' if status == 'warn' else 'fail'} when {failure}"
    return CheckResult(
        gate=gate, name=name, status=status, observed=observed, threshold=str(comparison),
        unit=unit, baseline=baseline, details=details or {},
        message=f"{label} {shown}{suffix}, {verdict}{suffix}",
    )
