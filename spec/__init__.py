"""The mlops.yaml spec: models, loading with positions, semantic checks, JSON Schema.

The names below are imported on first use: importing `mlops.spec.errors` must not pay for
pydantic, ruamel.yaml and the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import Diagnostic, SpecError
    from .loader import DEFAULT_SPEC, LoadedSpec, load_spec
    from .models import Spec
    from .threshold import Comparison, Threshold, parse_expression

_LAZY = {"Diagnostic": "errors", "SpecError": "errors", "DEFAULT_SPEC": "loader", "LoadedSpec": "loader",
         "load_spec": "loader", "Spec": "models", "Comparison": "threshold",
         "Threshold": "threshold", "parse_expression": "threshold"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'spec' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


__all__ = [
    "DEFAULT_SPEC",
    "Comparison",
    "Diagnostic",
    "LoadedSpec",
    "Spec",
    "SpecError",
    "Threshold",
    "load_spec",
    "parse_expression",
]
