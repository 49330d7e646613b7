"""Drift statistics in numpy only (scipy is a test-time reference, not a runtime dependency).

`sketch` builds bounded summaries batch by batch; `drift` compares two of them.
"""

from .drift import (
    DriftScore,
    chi2_contingency,
    histogram,
    jensen_shannon,
    ks_2samp,
    psi,
    quantile_cuts,
    score_categories,
    score_numeric,
    wasserstein,
)
from .sketch import RESERVOIR_ROWS, CategoryCounter, Reservoir, category_key

__all__ = [
    "RESERVOIR_ROWS",
    "CategoryCounter",
    "DriftScore",
    "Reservoir",
    "category_key",
    "chi2_contingency",
    "histogram",
    "jensen_shannon",
    "ks_2samp",
    "psi",
    "quantile_cuts",
    "score_categories",
    "score_numeric",
    "wasserstein",
]
