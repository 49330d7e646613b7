"""The rules that turn facts and measurements into values: exact bounds, allowed values,
thresholds and SLOs (decimal arithmetic, so these are the numbers every machine writes)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mlops.harness.init import proposals
from mlops.harness.init.facts import ColumnFacts
from mlops.harness.init.render import scalar
from mlops.harness.init.rounding import ceil_significant, grid_down, grid_up, text
from mlops.harness.init.schema import ProposedColumn, propose, widen


@pytest.mark.parametrize(("low", "high", "integer", "expected"), [
    (6.981, 28.11, False, ("1", "34")),          # width 21.13: +-5.28, to whole numbers
    (0.05263, 0.1634, False, ("0.02", "0.2")),    # width 0.11: to 0.01
    (0.0, 0.0, False, ("0", "0.3")),              # constant 0: widened by 1 * 25%, not below 0
    (5.0, 5.0, False, ("3.7", "6.3")),            # constant 5: by 25% of 5
    (-5.0, -1.0, False, ("-6", "0")),             # never above 0: max stays at 0
    (-3.0, 7.0, False, ("-6", "10")),             # crosses 0: widened on both sides
    (0, 8, True, ("0", "10")),                    # integers: to whole numbers
    (1000, 1003, True, ("999", "1004")),
])
def test_the_observed_range_is_widened_and_rounded_outward(low: float, high: float, integer: bool,
                                                           expected: tuple[str, str]) -> None:
    assert tuple(text(bound) for bound in widen(low, high, integer=integer)) == expected


def facts(kind: str, counts: list[str] | None, low: float | None = 0, high: float | None = 9,
          *, infinite: bool = False) -> ColumnFacts:
    return ColumnFacts("c", kind, 0, None, low, high, False, infinite,  # type: ignore[arg-type]
                       {value: 1 for value in counts} if counts is not None else None, None, None, ())


def test_allowed_values_for_few_texts_and_codes_but_not_for_counts() -> None:
    assert propose(facts("str", ["b", "a"]), "str").allowed == ("a", "b")
    assert propose(facts("int", ["9", "1", "5"]), "int").allowed == (1, 5, 9)
    count = propose(facts("int", [str(i) for i in range(6)], 0, 5), "int")
    assert (count.allowed, count.minimum, count.maximum) == (None, Decimal(0), Decimal(7))
    assert propose(facts("int", [str(i) for i in range(5)], 0, 4), "int").allowed == (0, 1, 2, 3, 4)
    assert propose(facts("int", [str(i) for i in range(6)], 0, 5), "int",
                   classes=True).allowed == (0, 1, 2, 3, 4, 5)
    assert propose(facts("str", None), "str") == ProposedColumn("c", "str", False)
    assert propose(facts("float", ["0.5"], 0.5, 0.5), "float").allowed is None


def test_an_infinite_value_leaves_its_side_open() -> None:
    found = propose(facts("float", None, 0, 10, infinite=True), "float")
    assert (found.minimum, found.maximum) == (Decimal(0), None)


def test_metric_thresholds_are_the_measured_values_with_their_margins() -> None:
    found = proposals.metric_thresholds("binary_classification", {
        "accuracy": 0.9737, "f1": 0.95, "roc_auc": float("nan"), "log_loss": 0.0709})
    assert [(t.name, t.operator, text(t.limit), t.severity) for t in found] == [
        ("accuracy", ">=", "0.95", "error"), ("f1", ">=", "0.93", "error"),
        ("log_loss", "<=", "0.078", "warn")]
    regression = proposals.metric_thresholds("regression", {"rmse": 12345.0, "mae": 0.0,
                                                            "r2": -0.015})
    assert [(t.name, text(t.limit)) for t in regression] == [("rmse", "14000"), ("mae", "0"),
                                                             ("r2", "-0.04")]
    assert text(proposals.metric_thresholds("multiclass_classification",
                                            {"accuracy": 0.01})[0].limit) == "0"


def test_data_checks_and_robustness_from_the_data() -> None:
    assert [proposals.min_rows(rows) for rows in (1, 2, 114, 1000, 3001)] == [1, 1, 50, 500, 1000]
    assert [text(proposals.max_null_fraction(f)) for f in (0.0, 0.113, 0.1, 0.97)] == [
        "0", "0.2", "0.15", "1"]
    assert text(proposals.min_class_fraction(0.3684)) == "0.18"
    assert [text(proposals.max_flip_fraction(*counts)) for counts in ((0, 200), (2, 200), (83, 200),
                                                                      (0, 0))] == [
        "0.05", "0.05", "0.44", "0.05"]


def test_slos_are_on_a_coarse_grid_with_a_floor_and_a_cap() -> None:
    fast = proposals.slos({1: 0.03, 64: 0.9})
    assert [text(v) for v in (fast.p95_ms_at_1, fast.rows_per_s_at_64, fast.load_p95_ms,
                              fast.load_p99_ms, fast.load_rps)] == ["10", "1000", "250", "1000", "10"]
    slow = proposals.slos({1: 3.1, 64: 42.0})
    assert [text(v) for v in (slow.p95_ms_at_1, slow.rows_per_s_at_64, slow.load_p95_ms,
                              slow.load_p99_ms, slow.load_rps)] == ["50", "100", "1000", "4000", "2"]
    # the same model measured 30% slower or faster writes the same SLOs
    assert proposals.slos({1: 0.039, 64: 1.17}) == fast == proposals.slos({1: 0.021, 64: 0.63})


def test_rounding_helpers() -> None:
    assert [text(grid_up(Decimal(v))) for v in ("0.3", "1", "1.01", "2.5", "7", "11")] == [
        "0.5", "1", "2", "5", "10", "20"]
    assert [text(grid_down(Decimal(v))) for v in ("0.3", "1", "1.99", "4.9", "7", "11")] == [
        "0.2", "1", "1", "2", "5", "10"]
    assert text(ceil_significant(Decimal("0.1357"))) == "0.14"


@pytest.mark.parametrize(("value", "expected"), [
    ("basic", "basic"), ("month-to-month", "month-to-month"), ("data/train.csv", "data/train.csv"),
    ("no", '"no"'), ("Yes", '"Yes"'), ("null", '"null"'), ("01", '"01"'), ("1.5", '"1.5"'),
    ("New York", '"New York"'), ("a: b", '"a: b"'), ("#1", '"#1"'), ("", '""'), ("ü", '"ü"'),
    (3, "3"), (Decimal("0.50"), "0.5"), (True, "true"),
])
def test_yaml_scalars_are_quoted_when_a_reader_could_misread_them(value: object, expected: str) -> None:
    assert scalar(value) == expected  # type: ignore[arg-type]
