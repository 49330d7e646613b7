"""The two tail probabilities the drift tests need, so the gate runs without scipy."""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300
_MAX_TERMS = 10_000


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-squared(dof): the regularized upper incomplete gamma Q."""
    if dof <= 0:
        return 1.0
    return _gamma_q(dof / 2.0, statistic / 2.0)


def _gamma_q(a: float, x: float) -> float:
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:  # the series converges fast here
        term = total = 1.0 / a
        shape = a
        for _ in range(_MAX_TERMS):
            shape += 1
            term *= x / shape
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # continued fraction (modified Lentz) for the upper tail
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return min(1.0, math.exp(log_front) * h)


def kolmogorov_sf(statistic: float, n1: int, n2: int) -> float:
    """Two-sided p-value of the two-sample KS statistic: Kolmogorov's limiting distribution at
    sqrt(n) * D with Stephens' small-sample correction, n = n1 * n2 / (n1 + n2)."""
    n = n1 * n2 / (n1 + n2)
    root = math.sqrt(n)
    lam = (root + 0.12 + 0.11 / root) * statistic
    if lam <= 0:
        return 1.0
    if lam < 1.18:  # the theta-function form converges where the alternating one is slow
        factor = math.sqrt(2 * math.pi) / lam
        cdf = factor * sum(math.exp(-((2 * k - 1) ** 2) * math.pi**2 / (8 * lam**2))
                           for k in range(1, 8))
        return min(1.0, max(0.0, 1.0 - cdf))
    total = sum((1.0 if k % 2 else -1.0) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return min(1.0, max(0.0, 2 * total))
