"""Model gate: the ONNX artifact on the test split — thresholds, no-regression against the
baseline model (evaluated on the same rows in the same run), slices, group gaps, ONNX-vs-native
parity, hypothesis robustness properties and, when model.reproducible asks, a retraining from the
commit that must reproduce the candidate.

The split is read once, batch by batch (`scoring`): memory grows with rows x (classes + slice
columns), not with the split's width. Metrics, slices and group gaps see every row; parity and
robustness run on a bounded sample of rows (`sample`), and their messages say how many."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.catalogue import LOWER_IS_BETTER, METRIC_LABELS
from mlops.core.columns import null_mask
from mlops.core.runtime import FeedError, ModelError, OnnxModel
from mlops.harness.baseline import BaselineUnavailable, read_baseline
from mlops.harness.gate import GateOptions
from mlops.harness.model import metrics as m
from mlops.harness.model.loading import load_model
from mlops.harness.model.parity import NativeUnavailable, native_outputs
from mlops.harness.model.reproducible import reproducible_check
from mlops.harness.model.robustness import (
    PropertyOutcome,
    batch_invariance,
    input_space,
    noise_flips,
    perturbations,
    valid_probabilities,
)
from mlops.harness.model.scoring import Scored, outputs_on_split, score_split
from mlops.harness.model.scoring import evaluate as evaluate
from mlops.harness.model.testset import DataProblem
from mlops.harness.result import CheckFactory, CheckResult, GateResult, bars_chart, heatmap_chart
from mlops.spec.loader import LoadedSpec
from mlops.spec.slices import SliceFilter, parse_slice
from mlops.spec.threshold import OPERATORS, Threshold, format_number

GATE_NAME = "model"
CHECK = CheckFactory(GATE_NAME)
MAX_GROUPS = 50
NULL_GROUP = "(null)"


def slice_mask(rule: SliceFilter, column: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Rows a slice selects; a null is in no slice, whatever the operator."""
    present = ~null_mask(column)
    if rule.op in ("in", "not in"):
        inside = np.asarray(np.isin(column, np.asarray(rule.values, dtype=column.dtype)), bool)
        chosen = inside if rule.op == "in" else ~inside
    else:
        with np.errstate(invalid="ignore"):
            chosen = np.asarray(OPERATORS[rule.op](column, rule.values[0]), dtype=bool)
    return np.asarray(present & chosen, dtype=bool)


def groups_of(column: npt.NDArray[Any]) -> dict[str, npt.NDArray[np.bool_]]:
    """One mask per distinct value (numbers as written, nulls as one group)."""
    keys = [NULL_GROUP if v is None or (isinstance(v, float) and v != v)
            else format_number(v) if isinstance(v, float) else str(v) for v in column.tolist()]
    labels = np.asarray(keys, dtype=object)
    return {key: labels == key for key in sorted(set(keys))}


def sampled(scored: Scored) -> str:
    """How many test rows a sampled check used: '114 test rows', or '10000 of 2000000 ...'."""
    if len(scored.sample_index) == scored.rows:
        return f"{scored.rows} test rows"
    return f"{len(scored.sample_index)} of {scored.rows} test rows, sampled"


@dataclass(frozen=True)
class BaselineSource:
    """Where the baseline's metrics come from: a model scored in the same pass as the candidate
    (`unusable` names it should it fail a batch), a metrics file's values, or neither (`note`
    says why)."""

    model: OnnxModel | None = None
    values: dict[str, float] = field(default_factory=dict)
    note: str = ""
    unusable: str = ""


class ModelGate:
    name = GATE_NAME

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        spec = loaded.spec
        artifact = loaded.resolve(spec.model.artifact)
        if not artifact.is_file():
            hint = f"run `{spec.model.train}`" if spec.model.train else "export the model"
            return CHECK.only(
                "artifact", "error", f"model artifact {spec.model.artifact} not found; {hint}"
            )
        try:
            model: OnnxModel | ModelError = load_model(loaded)
        except ModelError as problem:
            model = problem  # reported after the split is read: a data problem comes first
        baseline = self._baseline(loaded)
        try:
            data = score_split(loaded, model, baseline.model, self._kept(loaded))
        except (DataProblem, ModelError, FeedError) as problem:
            return CHECK.only("inputs", "error", str(problem))
        assert isinstance(model, OnnxModel)
        outputs = data.outputs
        classes = 0 if outputs.proba is None else outputs.proba.shape[1]
        if model.classifier and int(data.target.max()) >= classes:
            return CHECK.only(
                "labels",
                "error",
                f"test labels go up to {int(data.target.max())} but the model outputs {classes} classes",
            )
        observed = m.compute_all(spec.model.task, data.target, outputs)
        baseline_values, baseline_note = baseline.values, baseline.note
        if data.baseline is not None:
            baseline_values = m.compute_all(spec.model.task, data.target, data.baseline)
        elif data.baseline_problem is not None:
            baseline_note = f"{baseline.unusable} is not usable: {data.baseline_problem}"
        checks = [
            CHECK.compare(
                name,
                METRIC_LABELS[name],
                observed[name],
                threshold,
                baseline=baseline_values.get(name),
            )
            for name, threshold in spec.metrics.thresholds().items()
        ]
        checks += self._no_regression(loaded, observed, baseline_values, baseline_note)
        checks += self._slices(loaded, data)
        checks += self._group_gaps(loaded, data)
        checks += self._parity(loaded, model, data)
        checks += self._robustness(loaded, model, data)
        checks.append(self._reproducible(loaded, outputs))
        charts = {"metrics": bars_chart("Test-set metrics", observed, higher_is_worse=False)}
        if baseline_values:
            charts["baseline_metrics"] = bars_chart(
                f"Baseline metrics ({baseline_note})", baseline_values, higher_is_worse=False
            )
        if outputs.proba is not None:
            size = max(outputs.proba.shape[1], len(data.class_names))
            matrix = m.confusion_matrix(data.target.astype(np.int64), outputs.labels, size)
            names = data.class_names + [str(i) for i in range(len(data.class_names), size)]
            charts["confusion_matrix"] = heatmap_chart("Confusion matrix", names, matrix.tolist())
        return GateResult(gate=GATE_NAME, checks=checks, charts=charts)

    @staticmethod
    def _kept(loaded: LoadedSpec) -> list[str]:
        """The schema columns slices and group gaps select on (the only ones kept for every row)."""
        metrics = loaded.spec.metrics
        wanted = [parse_slice(item.by).feature for item in metrics.slices]
        wanted += [gap.column for gap in metrics.group_gaps]
        return [name for name in dict.fromkeys(wanted) if name in loaded.spec.data.columns]

    def _baseline(self, loaded: LoadedSpec) -> BaselineSource:
        """The baseline model to score on the same test rows, or its metrics file, or why there is
        no baseline."""
        spec = loaded.spec
        settings = spec.model.baseline
        if settings is None:
            return BaselineSource(note="no model.baseline is configured")
        try:
            baseline = read_baseline(loaded.root, settings.ref, spec.model.artifact, settings.metrics)
        except BaselineUnavailable as reason:
            return BaselineSource(note=str(reason))
        unusable = f"the baseline model at {baseline.where}"
        if baseline.model is not None:
            try:
                old = load_model(loaded, baseline.model, where=f"the baseline at {baseline.where}")
            except ModelError as error:
                return BaselineSource(note=f"{unusable} is not usable: {error}")
            return BaselineSource(old, note=f"baseline model at {baseline.where}, same test rows",
                                  unusable=unusable)
        if baseline.metrics is not None:
            return BaselineSource(values=baseline.metrics,
                                  note=f"metrics file {settings.metrics} at {baseline.where}")
        return BaselineSource(note="; ".join(baseline.missing))

    def _no_regression(
        self,
        loaded: LoadedSpec,
        observed: dict[str, float],
        values: dict[str, float],
        note: str,
    ) -> list[CheckResult]:
        results = []
        for name, allowed in loaded.spec.metrics.no_regression.items():
            check_name = f"no_regression.{name}"
            label = METRIC_LABELS[name]
            if name not in values:
                reason = note if not values else f"{note} has no {name}"
                results.append(CHECK(check_name, "skip", f"no baseline {label}: {reason}"))
                continue
            old, new = values[name], observed[name]
            lower = name in LOWER_IS_BETTER
            worsening = (new - old) if lower else (old - new)
            limit = old + allowed if lower else old - allowed
            passed = bool(worsening <= allowed + 1e-12)  # NaN compares False: fails
            direction = "rose" if lower else "dropped"
            verb = direction if worsening > 0 else ("fell" if lower else "rose")
            results.append(
                CHECK(
                    check_name,
                    "pass" if passed else "fail",
                    f"{label} {verb} {format_number(round(abs(worsening), 4))} from "
                    f"{format_number(round(old, 4))} ({note}) to {format_number(round(new, 4))}, "
                    f"configured to fail when it {direction} more than {format_number(allowed)}",
                    observed=new,
                    baseline=old,
                    threshold=f"{'<=' if lower else '>='} {format_number(round(limit, 6))}",
                )
            )
        return results

    def _slices(self, loaded: LoadedSpec, data: Scored) -> list[CheckResult]:
        outputs = data.outputs
        results = []
        for item in loaded.spec.metrics.slices:
            rule = parse_slice(item.by)
            name = f"slice[{item.by}].{item.metric}"
            column = data.columns.get(rule.feature)
            if column is None:
                results.append(CHECK(name, "error", f"column {rule.feature} is not in the test data"))
                continue
            mask = slice_mask(rule, column)
            count = int(mask.sum())
            if count == 0:
                results.append(CHECK(name, "error", f"slice '{item.by}' matches no test rows"))
                continue
            value = m.compute(item.metric, data.target[mask], outputs.subset(mask))
            label = f"{METRIC_LABELS[item.metric]} on '{item.by}' ({count} rows)"
            results.append(CHECK.compare(name, label, value, item.threshold, details={"rows": count}))
        return results

    def _group_gaps(self, loaded: LoadedSpec, data: Scored) -> list[CheckResult]:
        outputs = data.outputs
        results = []
        for gap in loaded.spec.metrics.group_gaps:
            name = f"group_gap[{gap.column}].{gap.metric}"
            column = data.columns.get(gap.column)
            if column is None:
                results.append(CHECK(name, "error", f"column {gap.column} is not in the test data"))
                continue
            groups = groups_of(column)
            if len(groups) > MAX_GROUPS:
                results.append(
                    CHECK(
                        name,
                        "error",
                        (
                            f"column {gap.column} has {len(groups)} distinct values; group "
                            f"gaps need a categorical column (at most {MAX_GROUPS} groups)"
                        ),
                    )
                )
                continue
            scores = {
                group: m.compute(gap.metric, data.target[mask], outputs.subset(mask))
                for group, mask in groups.items()
            }
            best = max(scores, key=lambda g: scores[g])
            worst = min(scores, key=lambda g: scores[g])
            spread = scores[best] - scores[worst]
            label = (
                f"{METRIC_LABELS[gap.metric]} gap across {gap.column} groups "
                f"({best}: {scores[best]:.4g}, {worst}: {scores[worst]:.4g})"
            )
            results.append(
                CHECK.compare(
                    name, label, spread, Threshold.of("<=", gap.max_gap), details={"groups": scores}
                )
            )
        return results

    def _parity(self, loaded: LoadedSpec, model: OnnxModel, data: Scored) -> list[CheckResult]:
        """ONNX vs the native model on the sampled rows (the ONNX outputs are those of the pass)."""
        source = loaded.spec.model.source
        if source is None:
            return []
        rules = loaded.spec.metrics.parity
        outputs = data.outputs.subset(data.sample_index)
        try:
            native = native_outputs(loaded, model, data.sample)
        except NativeUnavailable as reason:
            return [CHECK("parity", "error" if reason.failed else "skip", str(reason))]
        framework = source.framework
        if outputs.proba is not None and native.proba is not None:
            if native.proba.shape != outputs.proba.shape:
                return [
                    CHECK(
                        "parity",
                        "fail",
                        (
                            f"ONNX outputs {outputs.proba.shape[1]} classes, {framework} "
                            f"{native.proba.shape[1]}"
                        ),
                    )
                ]
            compared, difference = "probability", float(np.max(np.abs(outputs.proba - native.proba)))
            mismatch: float | None = float(np.mean(outputs.labels != native.labels))
        else:
            assert outputs.values is not None and native.values is not None
            compared, difference = "prediction", float(np.max(np.abs(outputs.values - native.values)))
            mismatch = None
        results = [
            CHECK.compare(
                "parity.max_abs_diff",
                f"largest ONNX vs {framework} {compared} difference ({sampled(data)})",
                difference,
                Threshold.of("<=", rules.atol),
            )
        ]
        if mismatch is not None:
            results.append(
                CHECK.compare(
                    "parity.label_mismatch",
                    f"fraction of test rows whose ONNX and {framework} labels differ "
                    f"({sampled(data)})",
                    mismatch,
                    Threshold.of("<=", rules.max_mismatch_fraction),
                )
            )
        return results

    def _reproducible(self, loaded: LoadedSpec, outputs: m.Outputs) -> CheckResult:
        def outputs_of(model: bytes, where: str) -> m.Outputs:
            return outputs_on_split(loaded, load_model(loaded, model, where=where))

        return reproducible_check(CHECK, loaded, outputs, outputs_of)

    def _robustness(self, loaded: LoadedSpec, model: OnnxModel, data: Scored) -> list[CheckResult]:
        """The properties on inputs drawn from the sampled rows (and the schema's bounds)."""
        spec = loaded.spec
        rules = spec.metrics.robustness
        space = input_space(spec.data.feature_rules(), data.sample)
        drawn = sampled(data)
        results = []
        if model.classifier:
            valid = valid_probabilities(model, space, rules.examples, rules.seed)
            results.append(
                _property(
                    "robustness.valid_probabilities",
                    valid,
                    "outputs are valid probabilities (in [0, 1], rows sum to 1)",
                    "invalid probabilities",
                    drawn,
                )
            )
        same = batch_invariance(model, space, rules.examples, rules.seed)
        results.append(
            _property(
                "robustness.batch_invariance",
                same,
                "each row predicts the same alone as inside a batch",
                "a row predicts differently inside a batch",
                drawn,
            )
        )
        if not model.classifier:
            return results
        flipped, total = noise_flips(model, space, rules.perturb, rules.noise, rules.examples,
                                     rules.seed)
        ways = perturbations(space, rules.perturb)
        nudged = [name for name, how in ways.items() if how == "noise"]
        swapped = [name for name, how in ways.items() if how == "swap"]
        changes = ([f"±{format_number(rules.noise * 100)}% noise on {len(nudged)} numeric "
                    f"feature(s)"] if nudged else []) + (
            [f"another value of {', '.join(swapped)}"] if swapped else [])
        label = (f"fraction of {total} perturbed test rows whose label flips under "
                 f"{' and '.join(changes) or 'no change'} ({flipped} flipped; rows drawn from {drawn})")
        results.append(
            CHECK.compare(
                "robustness.noise_flips",
                label,
                flipped / total,
                Threshold.of("<=", rules.max_flip_fraction),
                details={"flipped": flipped, "examples": total},
            )
        )
        return results


def _property(name: str, outcome: PropertyOutcome, holds: str, broken: str,
              drawn: str) -> CheckResult:  # fmt: skip
    """A hypothesis property's check; `drawn` says how many test rows its inputs come from."""
    if outcome.counterexample is None:
        return CHECK(
            name,
            "pass",
            f"{holds} on {outcome.examples} generated inputs (hypothesis; test rows drawn from "
            f"{drawn})",
            observed=float(outcome.examples),
        )
    return CHECK(name, "fail", f"{broken}: {outcome.counterexample} (hypothesis, fixed seed); "
                               f"test rows drawn from {drawn}")


GATE = ModelGate()
