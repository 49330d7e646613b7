"""Drift statistics comparing a reference distribution with a current one.

Numeric features are binned at quantiles of the reference (so each bin holds about the same share
of the reference) for PSI, Jensen–Shannon and chi-squared; KS and Wasserstein use the sorted
values. Categorical features compare category frequencies. Every function here is checked against
scipy in tests/harness/test_stats.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.catalogue import P_VALUE_METHODS
from mlops.core.catalogue import DriftMethod as Method

from .special import chi2_sf, kolmogorov_sf

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PSI_FLOOR = 1e-4
"""Smallest proportion used in PSI: an empty bin would otherwise make the index infinite."""

CATEGORICAL_FALLBACK: dict[str, Method] = {"ks": "chi2", "wasserstein": "jensen_shannon"}
"""KS and Wasserstein need ordered numbers; on categories they become the closest test with the
same threshold meaning (a p-value for KS, a distance around 0.1 for Wasserstein, as Evidently's
defaults pair them)."""


@dataclass(frozen=True)
class DriftScore:
    """One feature's comparison: the score checked against the threshold and its test's details."""

    method: Method
    score: float
    details: dict[str, Any]

    def drifted(self, threshold: float) -> bool:
        if math.isnan(self.score):
            return False
        if self.method in P_VALUE_METHODS:
            return self.score < threshold
        return self.score > threshold


def quantile_cuts(reference: FloatArray, bins: int) -> FloatArray:
    """Interior cut points at the reference's quantiles; ties collapse into fewer bins."""
    if reference.size == 0:
        return np.empty(0)
    quantiles = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    cuts: FloatArray = np.unique(quantiles)
    return cuts


def histogram(values: FloatArray, cuts: FloatArray) -> IntArray:
    """Counts per bin: (-inf, c0], (c0, c1], ..., (c_last, inf)."""
    index = np.searchsorted(cuts, values, side="left")
    counts: IntArray = np.bincount(index, minlength=cuts.size + 1).astype(np.int64)
    return counts


def psi(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """Population stability index: sum((c - r) * ln(c / r)) over bins of proportions."""
    ref = _proportions(reference_counts)
    cur = _proportions(current_counts)
    ref = np.maximum(ref, PSI_FLOOR)
    cur = np.maximum(cur, PSI_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon(reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """Jensen–Shannon distance (square root of the divergence, natural log), like scipy's."""
    p = _proportions(reference_counts)
    q = _proportions(current_counts)
    m = (p + q) / 2
    divergence = (_kl(p, m) + _kl(q, m)) / 2
    return float(math.sqrt(max(divergence, 0.0)))


def ks_2samp(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic D and its asymptotic two-sided p-value."""
    a = np.sort(reference)
    b = np.sort(current)
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / a.size
    cdf_b = np.searchsorted(b, both, side="right") / b.size
    statistic = float(np.max(np.abs(cdf_a - cdf_b)))
    return statistic, kolmogorov_sf(statistic, a.size, b.size)


def wasserstein(reference: FloatArray, current: FloatArray) -> float:
    """Wasserstein-1 (earth mover's) distance between two empirical distributions."""
    a = np.sort(reference)
    b = np.sort(current)
    if a.size == 0 or b.size == 0:
        return math.nan
    both = np.sort(np.concatenate([a, b]))
    widths = np.diff(both)
    cdf_a = np.searchsorted(a, both[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, both[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def chi2_contingency(table: npt.ArrayLike) -> tuple[float, float, int]:
    """Pearson's chi-squared test of independence on a 2 x k table of counts, with Yates'
    correction when there is one degree of freedom (as scipy does). Returns (statistic, p, dof)."""
    observed = np.asarray(table, dtype=np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    observed = observed[observed.sum(axis=1) > 0, :]
    if observed.shape[0] < 2 or observed.shape[1] < 2:
        return 0.0, 1.0, 0
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    if dof == 1:
        difference = expected - observed
        observed = observed + np.minimum(0.5, np.abs(difference)) * np.sign(difference)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, chi2_sf(statistic, dof), dof


def score_numeric(method: Method, reference: FloatArray, current: FloatArray,
                  bins: int) -> DriftScore:
    """Compare two samples of a numeric feature with `method`."""
    if method == "ks":
        statistic, p_value = ks_2samp(reference, current)
        return DriftScore(method, p_value, {"statistic": statistic})
    if method == "wasserstein":
        distance = wasserstein(reference, current)
        spread = float(np.std(reference)) if reference.size else math.nan
        normed = distance / spread if spread > 0 else (0.0 if distance == 0 else math.inf)
        return DriftScore(method, normed, {"distance": distance, "reference_sd": spread})
    cuts = quantile_cuts(reference, bins)
    return _score_counts(method, histogram(reference, cuts), histogram(current, cuts),
                         {"cuts": [float(c) for c in cuts]})


def score_categories(method: Method, reference: Mapping[str, int],
                     current: Mapping[str, int]) -> DriftScore:
    """Compare category counts; KS and Wasserstein fall back to CATEGORICAL_FALLBACK."""
    method = CATEGORICAL_FALLBACK.get(method, method)
    categories = sorted(set(reference) | set(current))
    ref = np.array([reference.get(c, 0) for c in categories], dtype=np.int64)
    cur = np.array([current.get(c, 0) for c in categories], dtype=np.int64)
    return _score_counts(method, ref, cur, {"categories": categories})


def _score_counts(method: Method, ref: IntArray, cur: IntArray,
                  details: dict[str, Any]) -> DriftScore:
    details = {**details, "reference_counts": ref.tolist(), "current_counts": cur.tolist()}
    if ref.sum() == 0 or cur.sum() == 0:
        return DriftScore(method, math.nan, details)
    if method == "psi":
        return DriftScore(method, psi(ref, cur), details)
    if method == "jensen_shannon":
        return DriftScore(method, jensen_shannon(ref, cur), details)
    statistic, p_value, dof = chi2_contingency(np.vstack([ref, cur]))
    return DriftScore("chi2", p_value, {**details, "statistic": statistic, "dof": dof})


def _proportions(counts: npt.ArrayLike) -> FloatArray:
    values = np.asarray(counts, dtype=np.float64)
    total = values.sum()
    result: FloatArray = values / total if total > 0 else values
    return result


def _kl(p: FloatArray, q: FloatArray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))
