"""The threshold grammar shared by every gate: `OP NUMBER`, e.g. ``">= 0.93"`` or ``"< 50"``.

A threshold says what value PASSES. Written as a plain string it is an error when violated; as
``{expr: "< 50", severity: warn}`` a violation only warns.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

Severity = Literal["error", "warn"]
Operator = Literal["<", "<=", ">", ">=", "==", "!="]

# The comparison behind each operator (numpy arrays compare element-wise with them too).
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "equal to",
          "!=": "different from"}
_FAIL_WORDS = {"<": "at or above", "<=": "above", ">": "at or below", ">=": "below",
               "==": "different from", "!=": "equal to"}
_EXPR = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")

EXPRESSION_HELP = "an expression like '>= 0.93' or '< 50' (one of < <= > >= == != and a number)"


@dataclass(frozen=True)
class Comparison:
    """A parsed `OP NUMBER` expression."""

    op: str
    value: float

    def passes(self, observed: float) -> bool:
        """NaN never passes: an unmeasurable value must not ship."""
        if math.isnan(observed):
            return False
        return bool(OPERATORS[self.op](observed, self.value))

    def describe(self) -> str:
        """`at least 0.93` — the passing region in words."""
        return f"{_WORDS[self.op]} {format_number(self.value)}"

    def describe_failure(self) -> str:
        """`below 0.93` — the failing region in words, for gate messages."""
        return f"{_FAIL_WORDS[self.op]} {format_number(self.value)}"

    def __str__(self) -> str:
        return f"{self.op} {format_number(self.value)}"


def format_number(value: float) -> str:
    """Numbers as a person writes them: 50 not 50.0, 0.93 not 0.9300000001."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def parse_expression(text: str) -> Comparison:
    """Parse `OP NUMBER`; raises ValueError with the expected form."""
    match = _EXPR.match(text)
    if not match:
        raise ValueError(f"expected {EXPRESSION_HELP}, got {text!r}")
    return Comparison(match.group(1), float(match.group(2)))


class Threshold(BaseModel):
    """A pass condition with a severity; accepts the short string form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expr: str
    severity: Severity = "error"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"expr": value}
        return value

    @model_validator(mode="after")
    def _parses(self) -> Threshold:
        parse_expression(self.expr)
        return self

    @classmethod
    def of(cls, op: Operator, value: float, severity: Severity = "error") -> Threshold:
        """A threshold from a number, as the gates build their own (`Threshold.of("<=", 0.01)`):
        the exact float round-trips through `expr`, so nothing is formatted by hand."""
        return cls(expr=f"{op} {float(value)!r}", severity=severity)

    @property
    def comparison(self) -> Comparison:
        return parse_expression(self.expr)

    def passes(self, observed: float) -> bool:
        return self.comparison.passes(observed)

    def __str__(self) -> str:
        return str(self.comparison)


THRESHOLD_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": _EXPR.pattern, "description": EXPRESSION_HELP},
        {
            "type": "object",
            "properties": {
                "expr": {"type": "string", "pattern": _EXPR.pattern},
                "severity": {"enum": ["error", "warn"], "default": "error"},
            },
            "required": ["expr"],
            "additionalProperties": False,
        },
    ]
}
