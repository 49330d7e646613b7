"""data.schema from the columns' facts: the rules `mlops init` follows, written down once.

- `nullable` where a null occurs in any file.
- `allowed` for a text or integer column with at most MAX_ALLOWED distinct values (text as the
  data holds it; integers in order), except integer features whose values are a run of more than
  RUN_LIMIT consecutive integers: a count or a scale, which tomorrow may extend by one, so it gets
  min/max instead. The target of a classifier always lists its classes.
- `min`/`max` for the other numeric columns: the observed range widened by MARGIN of its width on
  each side (a constant column: of its magnitude, or 1), never across zero (a column never below
  0 keeps min >= 0; else one never above 0 keeps max <= 0), rounded outward to two significant
  digits of the width (integers: to a whole number). An infinite value leaves that side open.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mlops.core.contract import ColumnType

from .facts import ColumnFacts
from .profile import MAX_ALLOWED, Number
from .rounding import ceil_to, exact, floor_to

MARGIN = Decimal("0.25")
"""How far min/max lie beyond the observed range, as a share of its width."""
RUN_LIMIT = 5
"""Integers forming a run of more than this many consecutive values are a count, not codes."""
RULES_COMMENT = (
    f"nullable: a null occurs; allowed: the values of a text or integer column with at most "
    f"{MAX_ALLOWED} distinct ones (integers that run over more than {RUN_LIMIT} consecutive values "
    f"are a count: min/max instead); min/max: the observed range widened by "
    f"{int(MARGIN * 100)}% of its width on each side (a constant column: of its value, or 1), "
    "not across 0, rounded outward to 2 significant digits of the width."
)
"""The rules above, as the spec's comment states them."""


@dataclass(frozen=True)
class ProposedColumn:
    name: str
    dtype: ColumnType
    nullable: bool
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    allowed: tuple[str, ...] | tuple[int, ...] | None = None


def propose(facts: ColumnFacts, dtype: ColumnType, *, classes: bool = False) -> ProposedColumn:
    """The schema entry of a column of this dtype; `classes`: it is a classifier's target."""
    allowed = _allowed(facts, dtype, classes)
    if allowed is not None or dtype not in ("int", "float") or facts.low is None or facts.high is None:
        return ProposedColumn(facts.name, dtype, facts.nullable, allowed=allowed)
    low, high = widen(facts.low, facts.high, integer=dtype == "int")
    return ProposedColumn(facts.name, dtype, facts.nullable,
                          None if facts.infinite_low else low, None if facts.infinite_high else high)


def _allowed(facts: ColumnFacts, dtype: ColumnType,
             classes: bool) -> tuple[str, ...] | tuple[int, ...] | None:
    if facts.counts is None or not facts.counts:
        return None
    if dtype == "str":
        return tuple(sorted(facts.counts))
    if dtype != "int":
        return None
    values = tuple(sorted({int(value) for value in facts.counts}))
    if not classes and len(values) > RUN_LIMIT and values[-1] - values[0] == len(values) - 1:
        return None
    return values


def widen(low: Number, high: Number, *, integer: bool) -> tuple[Decimal, Decimal]:
    """The observed range [low, high] widened by MARGIN and rounded outward (see the module)."""
    lo, hi = exact(low), exact(high)
    width = hi - lo or max(abs(lo), abs(hi)) or Decimal(1)
    step = Decimal(1).scaleb(width.adjusted() - 1)
    if integer:
        step = max(step, Decimal(1))
    new_lo = floor_to(lo - width * MARGIN, step)
    new_hi = ceil_to(hi + width * MARGIN, step)
    if lo >= 0 > new_lo:
        new_lo = Decimal(0)
    elif hi <= 0 < new_hi:
        new_hi = Decimal(0)
    return new_lo, new_hi
