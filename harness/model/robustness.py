"""Robustness properties of the ONNX model, checked inside the gate under a fixed seed.

Properties that must hold for every input (valid probabilities, batch invariance) are searched by
hypothesis, run programmatically with `@seed(spec seed)`, `derandomize=True` and no example
database. Hypothesis picks, for each generated row, a kind and a seed: a test row, a uniform row
within the schema's bounds, a corner of the bounds, or a test row with one feature at an extreme.
Drawing 30 floats per row through hypothesis cost about 20 s per property on 2 cores; two choices
per row keep the search to about a second. Shrinking is off (it could take hypothesis' 5-minute
budget); the first counterexample found is reported.

The noise property is a rate, so it is estimated from a seeded uniform sample (see `noise_flips`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from .onnx_model import OnnxModel

Bounds = list[tuple[float, float]]
Rows = npt.NDArray[np.float32]
PROBABILITY_SLACK = 1e-5  # float32 rounding in a probability row
SUM_TOLERANCE = 1e-4
BATCH_ATOL = 1e-5
KINDS = ("test row", "uniform", "corner", "extreme feature")


@dataclass(frozen=True)
class PropertyOutcome:
    examples: int
    counterexample: str | None = None


@dataclass(frozen=True)
class InputSpace:
    """Where generated rows come from: the test rows and per-feature bounds."""

    rows: Rows
    low: Rows
    high: Rows

    def row(self, kind: str, row_seed: int) -> Rows:
        generator = np.random.default_rng(row_seed)
        width = self.rows.shape[1]
        if kind == "uniform":
            return generator.uniform(self.low, self.high).astype(np.float32)
        if kind == "corner":
            return np.where(generator.random(width) < 0.5, self.low, self.high).astype(np.float32)
        row: Rows = self.rows[generator.integers(len(self.rows))].copy()
        if kind == "extreme feature":
            feature = generator.integers(width)
            row[feature] = self.low[feature] if generator.random() < 0.5 else self.high[feature]
        return row

    def batches(self, min_size: int, max_size: int) -> st.SearchStrategy[Rows]:
        one = st.tuples(st.sampled_from(KINDS), st.integers(0, 2**32 - 1))
        return st.lists(one, min_size=min_size, max_size=max_size).map(
            lambda picks: np.stack([self.row(kind, value) for kind, value in picks])
        )


def input_space(columns: list[tuple[float | None, float | None]], rows: Rows) -> InputSpace:
    """Bounds per feature: the schema's min/max, else the test data's range."""
    low = np.array([rows[:, i].min() if lo is None else lo for i, (lo, _) in enumerate(columns)], np.float32)
    high = np.array([rows[:, i].max() if hi is None else hi for i, (_, hi) in enumerate(columns)], np.float32)
    return InputSpace(rows, low, np.maximum(low, high))


def _settings(examples: int) -> settings:
    return settings(
        database=None,
        derandomize=True,
        max_examples=examples,
        deadline=None,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )


def _search(
    test: Callable[[object], None], strategy: st.SearchStrategy[object], examples: int, seed_value: int
) -> PropertyOutcome:
    """Run a property; the first failing example becomes the counterexample."""
    counter = [0]

    def counted(value: object) -> None:
        counter[0] += 1
        test(value)

    runner = seed(seed_value)(_settings(examples)(given(strategy)(counted)))
    try:
        runner()
    except AssertionError as failure:
        return PropertyOutcome(counter[0], str(failure))
    return PropertyOutcome(counter[0])


def valid_probabilities(model: OnnxModel, space: InputSpace, examples: int, seed_value: int
                        ) -> PropertyOutcome:  # fmt: skip
    """Every probability is finite and in [0, 1], and every row sums to 1."""

    def check(drawn: object) -> None:
        batch = cast(Rows, drawn)
        proba = model.predict_proba(batch)
        for index, row in enumerate(proba):
            total = float(row.sum())
            inside = bool(np.isfinite(row).all()) and row.min() >= -PROBABILITY_SLACK
            assert inside and row.max() <= 1 + PROBABILITY_SLACK and abs(total - 1) <= SUM_TOLERANCE, (
                f"probabilities {_show(row)} (sum {total:.6g}) for input {_show(batch[index])}"
            )

    return _search(check, space.batches(1, 4), examples, seed_value)


def batch_invariance(model: OnnxModel, space: InputSpace, examples: int, seed_value: int
                     ) -> PropertyOutcome:  # fmt: skip
    """A row gets the same output alone as inside a batch (no cross-row leakage, no padding bug)."""

    def check(drawn: object) -> None:
        batch, index = cast(tuple[Rows, int], drawn)
        index %= len(batch)
        alone = model.run(batch[index : index + 1])[0]
        inside = model.run(batch)[index]
        assert np.allclose(alone, inside, rtol=0, atol=BATCH_ATOL), (
            f"row {index} of a batch of {len(batch)} gives {_show(inside)} but {_show(alone)} "
            f"alone (input {_show(batch[index])})"
        )

    strategy = st.tuples(space.batches(2, 16), st.integers(0, 15))
    return _search(check, strategy, examples, seed_value)


def noise_flips(
    model: OnnxModel, rows: Rows, noise: float, examples: int, seed_value: int
) -> tuple[int, int]:
    """(flipped, perturbed): `examples` test rows, each feature scaled by (1 + noise * u).

    A fraction is a statistic, so it is sampled uniformly from a seeded numpy generator rather
    than by hypothesis, whose examples lean to the boundaries and (since 6.131) mix in literals
    from whichever local modules are imported: the same seed gave 7 or 13 flips out of 200
    depending on imports, which would make the verdict depend on the command that ran the gate.
    """
    generator = np.random.default_rng(seed_value)
    picked = rows[generator.integers(0, len(rows), size=examples)]
    scale = 1 + noise * generator.uniform(-1.0, 1.0, size=picked.shape)
    noisy = (picked * scale).astype(np.float32)
    before = np.argmax(model.predict_proba(picked), axis=1)
    after = np.argmax(model.predict_proba(noisy), axis=1)
    return int(np.sum(before != after)), examples


def _show(values: npt.NDArray[np.generic]) -> str:
    shown = ", ".join(f"{float(v):.6g}" for v in np.ravel(values)[:8])
    return f"[{shown}{', …' if np.size(values) > 8 else ''}]"
