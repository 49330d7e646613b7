"""A first run of the model the gates will run, on a draft of the spec: its test-set metrics,
its label flips under the robustness perturbation, and its inference latency.

Everything goes through the gates' own code (the model gate's one pass over the test split,
`scoring.score_split`, and its bounded row sample for robustness; the model through the contract,
`harness.model.metrics`, `robustness.noise_flips`; the bench gate's first rows and
`time_interleaved`), so a threshold proposed from these numbers is one the gate measures alike, and
init holds no more of the split than the model gate does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlops.core.columns import Columns, take
from mlops.core.errors import MlopsError
from mlops.core.runtime import FeedError, ModelError, OnnxModel
from mlops.spec.loader import LoadedSpec
from mlops.spec.models import Robustness

from ..bench.gate import input_rows, time_interleaved
from ..model import metrics
from ..model.loading import load_model
from ..model.robustness import InputSpace, Perturbation, input_space, noise_flips, perturbations
from ..model.scoring import score_split
from ..model.testset import DataProblem

BATCH_SIZES = (1, 64)
"""The batch sizes timed: one request's row, and a full batch of the server's coalescing."""
TIMING_BUDGET_S = 1.0
MIN_ITERATIONS = 20
DECISIVE_SWAP = 0.05
"""A categorical feature whose swap alone flips more than this share of the labels is decisive:
another value is another case, not a small change, so the robustness check keeps it."""


@dataclass(frozen=True)
class Measurements:
    test_rows: int
    sample_rows: int
    """The test rows robustness drew its inputs from (the model gate's row sample: every row of a
    split of at most `sample.SAMPLE_ROWS`)."""
    metrics: dict[str, float]
    """Every metric of the task, as the model gate computes them on the test split."""
    flipped: int
    perturbed: int
    """Label flips of a classifier under the robustness perturbation with the decisive features
    kept (0 of 0: regression)."""
    decisive: dict[str, float]
    """Categorical features kept, with the share of labels their swap alone flips."""
    p50_ms: dict[int, float]
    """Median latency per batch size (see `_median_ms`)."""


def measure(loaded: LoadedSpec) -> Measurements:
    """The measurements of the spec's model on its test split; MlopsError when it cannot run."""
    spec = loaded.spec
    try:
        model = _model(loaded)
        data = score_split(loaded, model, None, [])
        assert isinstance(model, OnnxModel)  # else score_split raised its ModelError
        outputs = data.outputs
        if model.classifier and outputs.proba is not None and (
                int(data.target.max()) >= outputs.proba.shape[1]):
            raise MlopsError(f"{spec.data.test}: the target's classes go up to "
                             f"{int(data.target.max())}, but {spec.model.artifact} outputs "
                             f"{outputs.proba.shape[1]} classes")
        observed = metrics.compute_all(spec.model.task, data.target, outputs)
        flipped, perturbed = 0, 0
        decisive: dict[str, float] = {}
        if model.classifier:
            flipped, perturbed, decisive = _robustness(model, input_space(
                spec.data.feature_rules(), data.sample), spec.metrics.robustness)
        rows = input_rows(loaded, max(BATCH_SIZES))
        p50_ms = {size: _median_ms(model, take(rows, slice(0, size)), spec.benchmark.warmup,
                                   spec.benchmark.iterations) for size in BATCH_SIZES}
    except DataProblem as problem:
        raise MlopsError(str(problem)) from None
    except (ModelError, FeedError) as error:
        raise MlopsError(f"{spec.model.artifact}: {error}") from None
    return Measurements(data.rows, len(data.sample_index), observed, flipped, perturbed, decisive,
                        p50_ms)


def _model(loaded: LoadedSpec) -> OnnxModel | ModelError:
    """The model, or why it does not load: `score_split` raises that after reading the split, so a
    problem in the data is reported first, as the model gate does."""
    try:
        return load_model(loaded, threads=loaded.spec.benchmark.threads)
    except ModelError as problem:
        return problem


def _median_ms(model: OnnxModel, rows: Columns, warmup: int, iterations: int) -> float:
    """The median of the bench gate's timed runs: `iterations` of them, or as many as fill about
    TIMING_BUDGET_S (at least MIN_ITERATIONS), so a slow model does not hold init for long."""
    probe = time_interleaved([model], rows, min(warmup, 3), MIN_ITERATIONS)[0]
    fitting = int(TIMING_BUDGET_S / max(float(np.median(probe.seconds)), 1e-9))
    count = max(MIN_ITERATIONS, min(iterations, fitting))
    timing = time_interleaved([model], rows, max(0, warmup - 3), count)[0]
    return float(np.median(timing.seconds)) * 1000


def _robustness(model: OnnxModel, space: InputSpace,
                rules: Robustness) -> tuple[int, int, dict[str, float]]:
    """Flips with every decisive categorical feature kept: each swappable one is first swapped
    alone (the others kept), on the gate's own seeded rows."""
    ways = perturbations(space, rules.perturb)
    decisive: dict[str, float] = {}
    for name, how in ways.items():
        if how != "swap":
            continue
        alone: dict[str, Perturbation] = {other: "keep" for other in ways if other != name}
        flipped, total = noise_flips(model, space, alone, rules.noise, rules.examples, rules.seed)
        if total and flipped / total > DECISIVE_SWAP:
            decisive[name] = flipped / total
    kept: dict[str, Perturbation] = {name: "keep" for name in decisive}
    flipped, total = noise_flips(model, space, {**rules.perturb, **kept}, rules.noise,
                                 rules.examples, rules.seed)
    return flipped, total, decisive
