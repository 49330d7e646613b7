"""Drift statistics against scipy (the reference implementation) and a hand-computed PSI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from mlops.harness.stats import (
    CategoryCounter,
    Reservoir,
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
from mlops.harness.stats.special import chi2_sf

SAMPLES = [(500, 300, 0.1), (1000, 1000, 0.05), (50, 70, 0.3), (20_000, 15_000, 0.02),
           (200, 200, 0.0), (40, 4000, 1.0)]


@pytest.mark.parametrize(("n1", "n2", "shift"), SAMPLES)
def test_ks_matches_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(size=n1), rng.normal(shift, size=n2)
    statistic, p_value = ks_2samp(a, b)
    expected = scipy_stats.ks_2samp(a, b, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    # scipy's asymptotic p uses the finite-n Kolmogorov law; ours its limit with Stephens'
    # correction: the two agree to about 0.01.
    assert p_value == pytest.approx(expected.pvalue, abs=0.02)


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 5, 300).astype(float), rng.integers(1, 6, 250).astype(float)
    assert ks_2samp(a, b)[0] == pytest.approx(scipy_stats.ks_2samp(a, b).statistic, abs=1e-12)


@pytest.mark.parametrize(("n1", "n2", "shift"), SAMPLES)
def test_wasserstein_matches_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 * 7 + n2)
    a, b = rng.exponential(size=n1), rng.exponential(size=n2) + shift
    assert wasserstein(a, b) == pytest.approx(scipy_stats.wasserstein_distance(a, b), rel=1e-10)


@pytest.mark.parametrize(("p", "q"), [([1, 2, 3], [3, 2, 1]), ([10, 0, 5, 5], [1, 9, 0, 10]),
                                      ([1, 1], [1, 1]), ([5, 0], [0, 5])])
def test_jensen_shannon_matches_scipy(p: list[int], q: list[int]) -> None:
    assert jensen_shannon(p, q) == pytest.approx(float(jensenshannon(p, q)), abs=1e-12)


@pytest.mark.parametrize("table", [[[10, 20, 30], [15, 25, 5]], [[10, 20], [15, 5]],
                                   [[100, 0, 3, 40, 7], [90, 4, 0, 52, 9]],
                                   [[1000, 2000], [1010, 1990]]])
def test_chi2_matches_scipy_contingency(table: list[list[int]]) -> None:
    statistic, p_value, dof = chi2_contingency(table)
    observed = np.asarray(table)
    expected = scipy_stats.chi2_contingency(observed[:, observed.sum(axis=0) > 0])
    assert statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert dof == expected.dof


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 150])
@pytest.mark.parametrize("statistic", [0.001, 0.5, 3.2, 10.0, 45.0, 300.0])
def test_chi2_tail_matches_scipy(statistic: float, dof: int) -> None:
    assert chi2_sf(statistic, dof) == pytest.approx(scipy_stats.chi2.sf(statistic, dof),
                                                     rel=1e-9, abs=1e-300)


def test_psi_by_hand() -> None:
    # reference 25/25/50 %, current 50/25/25 %:
    # (0.50-0.25)*ln(0.50/0.25) + 0 + (0.25-0.50)*ln(0.25/0.50) = 0.5*ln 2
    assert psi([25, 25, 50], [50, 25, 25]) == pytest.approx(0.5 * math.log(2), abs=1e-15)
    assert psi([1, 1, 2], [2, 1, 1]) == pytest.approx(0.5 * math.log(2), abs=1e-15)


def test_psi_floors_empty_bins() -> None:
    # reference 50/50/0 %, current 0/50/50 %: empty bins count as 0.0001
    floor = 1e-4
    expected = (floor - 0.5) * math.log(floor / 0.5) + (0.5 - floor) * math.log(0.5 / floor)
    assert psi([5, 5, 0], [0, 5, 5]) == pytest.approx(expected, rel=1e-12)


def test_quantile_bins_split_the_reference_evenly() -> None:
    reference = np.arange(1000, dtype=float)
    cuts = quantile_cuts(reference, 10)
    assert len(cuts) == 9
    assert histogram(reference, cuts).tolist() == [100] * 10
    # values outside the reference's range land in the outer bins
    assert histogram(np.array([-5.0, 5000.0]), cuts).tolist() == [1] + [0] * 8 + [1]


def test_ties_collapse_bins() -> None:
    values = np.array([0.0] * 90 + [1.0] * 10)
    cuts = quantile_cuts(values, 10)
    assert cuts.tolist() == [0.0, pytest.approx(0.1)]
    assert histogram(values, cuts).tolist() == [90, 0, 10]


def test_score_numeric_per_method() -> None:
    rng = np.random.default_rng(0)
    reference, same, shifted = rng.normal(size=3000), rng.normal(size=2000), rng.normal(1, size=2000)
    assert score_numeric("psi", reference, shifted, 10).drifted(0.2)
    assert not score_numeric("psi", reference, same, 10).drifted(0.2)
    assert score_numeric("ks", reference, shifted, 10).drifted(0.05)
    assert not score_numeric("ks", reference, same, 10).drifted(0.01)
    normed = score_numeric("wasserstein", reference, shifted, 10)
    assert normed.score == pytest.approx(
        scipy_stats.wasserstein_distance(reference, shifted) / np.std(reference))
    assert score_numeric("jensen_shannon", reference, shifted, 10).drifted(0.1)
    chi2 = score_numeric("chi2", reference, shifted, 10)
    assert chi2.method == "chi2" and chi2.drifted(0.05)


def test_categories_fall_back_for_ordered_methods() -> None:
    reference, current = {"a": 50, "b": 50}, {"a": 80, "b": 15, "c": 5}
    assert score_categories("ks", reference, current).method == "chi2"
    assert score_categories("wasserstein", reference, current).method == "jensen_shannon"
    table = [[50, 50, 0], [80, 15, 5]]
    assert score_categories("chi2", reference, current).score == pytest.approx(
        scipy_stats.chi2_contingency(table).pvalue)
    assert score_categories("psi", reference, current).score == pytest.approx(
        psi([50, 50, 0], [80, 15, 5]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=12), st.integers(0, 2**32 - 1))
def test_psi_and_js_properties(counts: list[int], seed: int) -> None:
    if sum(counts) == 0:
        counts[0] = 1
    other = np.random.default_rng(seed).permutation(counts)
    assert psi(counts, counts) == pytest.approx(0.0, abs=1e-12)
    assert psi(counts, other) >= -1e-12
    assert 0.0 <= jensen_shannon(counts, other) <= math.sqrt(math.log(2)) + 1e-12
    assert jensen_shannon(counts, other) == pytest.approx(jensen_shannon(other, counts), abs=1e-12)


def test_reservoir_holds_everything_until_full() -> None:
    data = np.arange(30, dtype=float).reshape(10, 3)
    sample = Reservoir(3, capacity=10)
    sample.add(data[:4])
    sample.add(data[4:])
    assert sample.complete
    assert sample.column(1).tolist() == data[:, 1].tolist()


def test_reservoir_is_a_uniform_bounded_sample() -> None:
    rows = 200_000
    sample = Reservoir(1, capacity=5_000, seed=1)
    for start in range(0, rows, 7_001):
        sample.add(np.arange(start, min(rows, start + 7_001), dtype=float)[:, None])
    kept = sample.column(0)
    assert not sample.complete and sample.seen == rows and kept.size == 5_000
    assert np.unique(kept).size == 5_000
    # a uniform sample of 0..199999: mean within 4 standard errors of the true mean
    assert abs(kept.mean() - (rows - 1) / 2) < 4 * rows / math.sqrt(12 * 5_000)
    assert scipy_stats.ks_1samp(kept / rows, scipy_stats.uniform.cdf).pvalue > 0.001


def test_reservoir_is_the_same_whatever_order_rows_arrive_in() -> None:
    rows = 50_000
    data = np.random.default_rng(3).normal(size=(rows, 2))
    keys = np.arange(rows, dtype=np.uint64)
    in_order = Reservoir(2, capacity=4_000)
    in_order.add(data, keys)
    shuffled = Reservoir(2, capacity=4_000)
    for cut in ((30_000, 50_000), (0, 12_345), (12_345, 30_000)):  # any order, any sizes
        for start in range(cut[0], cut[1], 5_000):
            end = min(cut[1], start + 5_000)
            shuffled.add(data[start:end], keys[start:end])
    assert shuffled.seen == in_order.seen == rows and not shuffled.complete
    assert np.array_equal(shuffled.rows(), in_order.rows())


def test_reservoir_keeps_file_order_while_complete() -> None:
    data = np.arange(20, dtype=float)[:, None]
    sample = Reservoir(1, capacity=50)
    sample.add(data[10:], np.arange(10, 20, dtype=np.uint64))
    sample.add(data[:10], np.arange(10, dtype=np.uint64))
    assert sample.complete and sample.column(0).tolist() == data[:, 0].tolist()


def test_reservoir_drops_missing_values() -> None:
    sample = Reservoir(2, capacity=10)
    sample.add(np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, 4.0]]))
    assert sample.column(0).tolist() == [1.0, 3.0]
    assert sample.column(1).tolist() == [2.0, 4.0]


def test_category_counter_accumulates_batches() -> None:
    import pyarrow as pa

    counter = CategoryCounter()
    counter.add(pa.array(["a", "b", None, "a"]))
    counter.add(pa.array(["b", "c"]))
    assert counter.counts == {"a": 2, "b": 2, "c": 1}
