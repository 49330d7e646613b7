"""Release gates (data, model, bench, load), the runner that executes them, and their reports.

Phases: gate -> `Report` (data) -> views (Markdown PR comment, JSON, JUnit XML, HTML).
"""

from .gate import Gate, GateOptions
from .result import CheckResult, GateResult, Report, compare

__all__ = ["CheckResult", "Gate", "GateOptions", "GateResult", "Report", "compare"]
