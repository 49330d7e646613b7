"""Release gates (data, model, bench, load, checks), the runner that executes them, and their reports.

Phases: gate -> `Report` (data) -> views (Markdown PR comment, JSON, JUnit XML, HTML).

One package per feature: `data`, `model`, `bench`, `load`, `checks` (the release gates) and
`monitor` (production), sharing `stats` (drift statistics) and `reports` (the views). The root
holds what they share: the gate protocol and options (`gate`), results (`result`), which gates
exist (`registry`), running them (`runner`), the baseline model at a git ref (`baseline`) and the
release pipeline's own steps (`release`).

The names below are imported on first use: every pytest run of the environment loads
`harness.checks.pytest_plugin`, and must not pay for pydantic and the spec models unless it uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gate import Gate, GateOptions
    from .result import CheckFactory, CheckResult, GateResult, Report, compare

_LAZY = {"Gate": "gate", "GateOptions": "gate", "CheckFactory": "result", "CheckResult": "result",
         "GateResult": "result", "Report": "result", "compare": "result"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'harness' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


__all__ = ["CheckFactory", "CheckResult", "Gate", "GateOptions", "GateResult", "Report", "compare"]
