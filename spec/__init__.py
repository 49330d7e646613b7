"""The mlops.yaml spec: models, loading with positions, semantic checks, JSON Schema."""

from .errors import Diagnostic, MlopsError, SpecError, UsageError
from .loader import DEFAULT_SPEC, LoadedSpec, load_spec
from .models import Spec
from .threshold import Comparison, Threshold, parse_expression

__all__ = [
    "DEFAULT_SPEC",
    "Comparison",
    "Diagnostic",
    "LoadedSpec",
    "MlopsError",
    "Spec",
    "SpecError",
    "Threshold",
    "UsageError",
    "load_spec",
    "parse_expression",
]
