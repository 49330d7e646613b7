"""Model gate: the ONNX artifact on the test split — thresholds, no-regression against the
baseline model (evaluated on the same rows in the same run), slices, group gaps, ONNX-vs-native
parity, hypothesis robustness properties and, when model.reproducible asks, a retraining from the
commit that must reproduce the candidate."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mlops.core.catalogue import LOWER_IS_BETTER, METRIC_LABELS
from mlops.core.columns import Columns, null_mask
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
from mlops.harness.model.testset import DataProblem, TestSet, load_test_set
from mlops.harness.result import CheckFactory, CheckResult, GateResult, bars_chart, heatmap_chart
from mlops.spec.loader import LoadedSpec
from mlops.spec.slices import SliceFilter, parse_slice
from mlops.spec.threshold import OPERATORS, Threshold, format_number

GATE_NAME = "model"
CHECK = CheckFactory(GATE_NAME)
MAX_GROUPS = 50
NULL_GROUP = "(null)"


def evaluate(model: OnnxModel, columns: Columns) -> m.Outputs:
    if model.classifier:
        return m.Outputs(proba=model.predict_proba(columns))
    return m.Outputs(values=model.predict(columns))


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
            data = load_test_set(loaded)
            model = load_model(loaded)
            outputs = evaluate(model, data.features)
        except (DataProblem, ModelError, FeedError) as problem:
            return CHECK.only("inputs", "error", str(problem))
        classes = 0 if outputs.proba is None else outputs.proba.shape[1]
        if model.classifier and int(data.target.max()) >= classes:
            return CHECK.only(
                "labels",
                "error",
                f"test labels go up to {int(data.target.max())} but the model outputs {classes} classes",
            )
        observed = m.compute_all(spec.model.task, data.target, outputs)
        baseline_values, baseline_note = self._baseline(loaded, data)
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
        checks += self._slices(loaded, data, outputs)
        checks += self._group_gaps(loaded, data, outputs)
        checks += self._parity(loaded, model, data, outputs)
        checks += self._robustness(loaded, model, data)
        checks.append(self._reproducible(loaded, data, outputs))
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

    def _baseline(self, loaded: LoadedSpec, data: TestSet) -> tuple[dict[str, float], str]:
        """The baseline's metrics on the same test rows (or from its metrics file), or why not."""
        spec = loaded.spec
        settings = spec.model.baseline
        if settings is None:
            return {}, "no model.baseline is configured"
        try:
            baseline = read_baseline(loaded.root, settings.ref, spec.model.artifact, settings.metrics)
        except BaselineUnavailable as reason:
            return {}, str(reason)
        if baseline.model is not None:
            try:
                old = load_model(loaded, baseline.model, where=f"the baseline at {baseline.where}")
                values = m.compute_all(spec.model.task, data.target, evaluate(old, data.features))
            except (ModelError, FeedError) as error:
                return {}, f"the baseline model at {baseline.where} is not usable: {error}"
            return values, f"baseline model at {baseline.where}, same test rows"
        if baseline.metrics is not None:
            return baseline.metrics, f"metrics file {settings.metrics} at {baseline.where}"
        return {}, "; ".join(baseline.missing)

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

    def _slices(self, loaded: LoadedSpec, data: TestSet, outputs: m.Outputs) -> list[CheckResult]:
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

    def _group_gaps(self, loaded: LoadedSpec, data: TestSet, outputs: m.Outputs) -> list[CheckResult]:
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

    def _parity(self, loaded: LoadedSpec, model: OnnxModel, data: TestSet,
                outputs: m.Outputs) -> list[CheckResult]:
        source = loaded.spec.model.source
        if source is None:
            return []
        rules = loaded.spec.metrics.parity
        try:
            native = native_outputs(loaded, model, data.features)
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
                f"largest ONNX vs {framework} {compared} difference",
                difference,
                Threshold.of("<=", rules.atol),
            )
        ]
        if mismatch is not None:
            results.append(
                CHECK.compare(
                    "parity.label_mismatch",
                    f"fraction of test rows whose ONNX and {framework} labels differ",
                    mismatch,
                    Threshold.of("<=", rules.max_mismatch_fraction),
                )
            )
        return results

    def _reproducible(self, loaded: LoadedSpec, data: TestSet, outputs: m.Outputs) -> CheckResult:
        def outputs_of(model: bytes, where: str) -> m.Outputs:
            return evaluate(load_model(loaded, model, where=where), data.features)

        return reproducible_check(CHECK, loaded, outputs, outputs_of)

    def _robustness(self, loaded: LoadedSpec, model: OnnxModel, data: TestSet) -> list[CheckResult]:
        spec = loaded.spec
        rules = spec.metrics.robustness
        space = input_space(spec.data.feature_rules(), data.features)
        results = []
        if model.classifier:
            valid = valid_probabilities(model, space, rules.examples, rules.seed)
            results.append(
                _property(
                    "robustness.valid_probabilities",
                    valid,
                    "outputs are valid probabilities (in [0, 1], rows sum to 1)",
                    "invalid probabilities",
                )
            )
        same = batch_invariance(model, space, rules.examples, rules.seed)
        results.append(
            _property(
                "robustness.batch_invariance",
                same,
                "each row predicts the same alone as inside a batch",
                "a row predicts differently inside a batch",
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
                 f"{' and '.join(changes) or 'no change'} ({flipped} flipped)")
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


def _property(name: str, outcome: PropertyOutcome, holds: str, broken: str) -> CheckResult:
    if outcome.counterexample is None:
        return CHECK(
            name,
            "pass",
            f"{holds} on {outcome.examples} generated inputs (hypothesis)",
            observed=float(outcome.examples),
        )
    return CHECK(name, "fail", f"{broken}: {outcome.counterexample} (hypothesis, fixed seed)")


GATE = ModelGate()
