"""The row filter of a metric slice: `feature OP literal` or `feature [not] in [literals]`.

Numbers compare numeric columns (`mean_radius > 15`); quoted text selects values of a text column
(`plan == 'basic'`, `country in ['US', 'DE']`, `country not in ['US']`). Parsed here once, for
validation and for the model gate, which evaluates it on the raw test columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .threshold import format_number

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
MEMBERSHIP = ("in", "not in")
EXAMPLES = "'mean_radius > 15', \"plan == 'basic'\" or \"country in ['US', 'DE']\""
_FILTER = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|==|!=|<|>|not\s+in\b|in\b)\s*(.*?)\s*$",
                     re.DOTALL)
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_QUOTED = re.compile(r"^(?:'([^']*)'|\"([^\"]*)\")$")
_ITEM = re.compile(r"\s*('[^']*'|\"[^\"]*\"|[^,'\"]*?)\s*(?:,|$)")

Literal = str | float


@dataclass(frozen=True)
class SliceFilter:
    """A parsed slice: the column, the operator and its literal(s)."""

    feature: str
    op: str
    values: tuple[Literal, ...]

    @property
    def text(self) -> bool:
        """Whether the literals are text (the column must be a text column)."""
        return isinstance(self.values[0], str)

    def describe(self) -> str:
        shown = [repr(v) if isinstance(v, str) else format_number(v) for v in self.values]
        if self.op in MEMBERSHIP:
            return f"{self.feature} {self.op} [{', '.join(shown)}]"
        return f"{self.feature} {self.op} {shown[0]}"


def parse_slice(text: str) -> SliceFilter:
    """Parse a slice filter; ValueError says what was expected."""
    match = _FILTER.match(text)
    if not match:
        raise ValueError(f"expected a filter like {EXAMPLES}, got {text!r}")
    feature, op, rest = match.group(1), " ".join(match.group(2).split()), match.group(3)
    if op in MEMBERSHIP:
        if not (rest.startswith("[") and rest.endswith("]")):
            raise ValueError(f"'{op}' needs a list like ['US', 'DE'], got {rest!r} in {text!r}")
        items = _items(rest[1:-1]) if rest[1:-1].strip() else []
        if not items:
            raise ValueError(f"'{op}' needs at least one value, got an empty list in {text!r}")
        values = tuple(_literal(item, text) for item in items)
        if len({isinstance(v, str) for v in values}) > 1:
            raise ValueError(f"mix of text and numbers in {text!r}; use one kind")
        return SliceFilter(feature, op, values)
    value = _literal(rest, text)
    if isinstance(value, str) and op not in ("==", "!="):
        raise ValueError(f"'{op}' compares numbers; text takes == or != (got {text!r})")
    return SliceFilter(feature, op, (value,))


def _items(inner: str) -> list[str]:
    """The comma-separated items of a list, commas inside quotes included in their item."""
    items, position = [], 0
    while position < len(inner):
        match = _ITEM.match(inner, position)
        if match is None or match.end() == position:
            break
        items.append(match.group(1))
        position = match.end()
    return items


def _literal(item: str, text: str) -> Literal:
    if _NUMBER.match(item):
        return float(item)
    quoted = _QUOTED.match(item)
    if quoted:
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    raise ValueError(f"expected a number or quoted text, got {item!r} in {text!r} (e.g. {EXAMPLES})")
