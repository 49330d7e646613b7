"""Exact rounding for proposed values: decimal arithmetic, so a bound or a threshold is the same
number on every machine and prints as a person would write it (0.18, not 0.18000000000000002)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

GRID = (Decimal(1), Decimal(2), Decimal(5))
"""The 1-2-5 grid (…, 0.5, 1, 2, 5, 10, 20, …) that measured SLOs are rounded to."""


def exact(value: float | int | Decimal) -> Decimal:
    """A number as the decimal it prints as (floats by their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_CEILING) * step


def ceil_significant(value: Decimal, digits: int = 2) -> Decimal:
    """Rounded up to `digits` significant digits (0.1357 -> 0.14)."""
    if value <= 0:
        return Decimal(0)
    return ceil_to(value, Decimal(1).scaleb(value.adjusted() - digits + 1))


def grid_up(value: Decimal) -> Decimal:
    """The smallest 1-2-5 grid value at or above `value` (> 0)."""
    scale = Decimal(1).scaleb(value.adjusted())
    return next(step * scale for step in (*GRID, Decimal(10)) if step * scale >= value)


def grid_down(value: Decimal) -> Decimal:
    """The largest 1-2-5 grid value at or below `value` (> 0)."""
    scale = Decimal(1).scaleb(value.adjusted())
    return next(step * scale for step in reversed(GRID) if step * scale <= value)


def text(value: Decimal) -> str:
    """Plain decimal notation without trailing zeros: 3100, 0.18, 0."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")
