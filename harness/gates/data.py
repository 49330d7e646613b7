"""The data gate: schema, quality and drift of the spec's data files, read once each, streaming.

Each distinct file (train, test, reference, current) is scanned once in record batches; the scan
keeps only tallies (counts and the first offending row), one 8-byte hash per row for duplicates,
exact category counts and a bounded row sample of the drift features (`harness.stats.sketch`).

Check names are `<split>.<check>` (`train.columns`, `current.ranges`...) and `drift.<feature>`.
A feature whose drift score crosses the threshold fails (it is a release gate: a shifted feature
must stop the release) unless `drift.feature_severity` is `warn`; `drift.dataset` adds the spec's
drifted-feature fraction verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from spec.errors import MlopsError
from spec.loader import LoadedSpec
from spec.messages import suggest
from spec.models import Column, Data, DriftMethod
from spec.threshold import Threshold, format_number

from .. import arrow_numpy
from ..datasets import Batch, Dataset
from ..gate import GateOptions
from ..result import HEADLINE, CheckResult, GateResult, Status, bars_chart, compare
from ..stats import CategoryCounter, DriftScore, Reservoir, score_categories, score_numeric
from ..stats.drift import LABELS, P_VALUE_METHODS

NAME = "data"
_NUMERIC = ("float", "int")
_PRIME = np.uint64(0x100000001B3)
"""FNV's 64-bit prime: each (hash ^ column) * prime step is a bijection, so rows differing in one
column never collide; splitmix64 then spreads the bits before np.unique compares them."""


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finalizer."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


@dataclass
class Offenders:
    """How many rows break a rule, and the first of them."""

    count: int = 0
    first_row: int = 0
    first_value: Any = None

    def add(self, mask: npt.NDArray[np.bool_], start: int,
            values: npt.NDArray[np.float64] | pa.Array | None = None) -> None:
        found = int(np.count_nonzero(mask))
        if found and not self.count:
            index = int(np.argmax(mask))
            self.first_row = start + index + 1
            if isinstance(values, pa.Array):
                self.first_value = values[index].as_py()
            elif values is not None:
                self.first_value = float(values[index])
        self.count += found


@dataclass
class ColumnTally:
    nulls: Offenders = field(default_factory=Offenders)
    below: Offenders = field(default_factory=Offenders)
    above: Offenders = field(default_factory=Offenders)
    outside: Offenders = field(default_factory=Offenders)


class FileScan:
    """Everything the checks need from one file, accumulated batch by batch."""

    def __init__(self, dataset: Dataset, data: Data, numeric: list[str],
                 categorical: list[str]) -> None:
        self.dataset = dataset
        self.data = data
        self.columns = [name for name in data.columns if name in dataset.header]
        self.numeric = [name for name in numeric if name in self.columns]
        self.categorical = {name: CategoryCounter() for name in categorical if name in self.columns}
        self.sample = Reservoir(len(self.numeric)) if self.numeric else None
        self.tallies = {name: ColumnTally() for name in self.columns}
        self.classes = CategoryCounter()
        self.rows = 0
        self._hashes: list[npt.NDArray[np.uint64]] = []
        self._string_ids: dict[str, dict[str, int]] = {name: {} for name in self.columns}

    def scan(self) -> FileScan:
        for batch in self.dataset.batches(self.columns):
            self._add(batch)
        return self

    def _add(self, chunk: Batch) -> None:
        start, batch = chunk.start, chunk.data
        self.rows += chunk.num_rows
        row_hash = np.full(chunk.num_rows, 0x9E3779B97F4A7C15, dtype=np.uint64)
        numbers: dict[str, npt.NDArray[np.float64]] = {}
        for name in self.columns:
            spec = self.data.columns[name]
            array = batch.column(name)
            if spec.dtype in _NUMERIC or spec.dtype == "bool":
                values = arrow_numpy.floats(array)
                numbers[name] = values
                missing = np.isnan(values)
                bits = np.where(missing, np.nan, values).view(np.uint64)
            else:
                missing = arrow_numpy.booleans(pc.is_null(array))
                bits = self._string_hash(name, array)
            row_hash = (row_hash ^ bits) * _PRIME
            self._check_values(name, spec, array, numbers.get(name), missing, start)
            if name in self.categorical:
                self.categorical[name].add(array)
            if name == self.data.target:
                self.classes.add(array)
        self._hashes.append(_mix(row_hash))
        if self.sample is not None:
            self.sample.add(np.column_stack([numbers[name] for name in self.numeric]))

    def _check_values(self, name: str, spec: Column, array: pa.Array,
                      values: npt.NDArray[np.float64] | None,
                      missing: npt.NDArray[np.bool_], start: int) -> None:
        tally = self.tallies[name]
        tally.nulls.add(missing, start)
        if values is not None and spec.min is not None:
            tally.below.add(values < spec.min, start, values)
        if values is not None and spec.max is not None:
            tally.above.add(values > spec.max, start, values)
        if spec.allowed is not None:
            if values is not None:
                allowed = np.array([float(v) for v in spec.allowed if not isinstance(v, str)])
                outside = ~np.isin(values, allowed) & ~missing
                tally.outside.add(outside, start, values)
            else:
                value_set = pa.array([str(v) for v in spec.allowed])
                inside = pc.fill_null(pc.is_in(array, value_set=value_set), True)
                tally.outside.add(~arrow_numpy.booleans(inside), start, array)

    def _string_hash(self, name: str, array: pa.Array) -> npt.NDArray[np.uint64]:
        """Stable ids for strings across batches (a dictionary of the values seen so far)."""
        ids = self._string_ids[name]
        filled = pc.fill_null(array, "\x00null")
        unique = pc.unique(filled)
        codes = np.array([ids.setdefault(value, len(ids)) for value in unique.to_pylist()],
                         dtype=np.uint64)
        positions = arrow_numpy.integers(pc.index_in(filled, value_set=unique))
        result: npt.NDArray[np.uint64] = codes[positions]
        return result

    def duplicates(self) -> tuple[int, int, int]:
        """(duplicate rows, first duplicate's row, the earlier row it repeats); rows from 1.
        Rows compare by a 64-bit hash of all their values."""
        if not self._hashes:
            return 0, 0, 0
        hashes = np.concatenate(self._hashes)
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        original = first[inverse]
        repeated = original != np.arange(hashes.size)
        count = int(np.count_nonzero(repeated))
        if not count:
            return 0, 0, 0
        index = int(np.argmax(repeated))
        return count, index + 1, int(original[index]) + 1


class DataGate:
    """Schema, quality and drift checks of the spec's data."""

    name = NAME

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        data = loaded.spec.data
        drifting = data.drift.features or data.features
        numeric = [f for f in drifting if _is_numeric(data.columns[f])]
        categorical = [f for f in drifting if not _is_numeric(data.columns[f])]
        dtypes = {name: column.dtype for name, column in data.columns.items()}
        checks: list[CheckResult] = []
        scans: dict[str, FileScan | None] = {}
        for split, relative in _splits(data):
            if relative in scans:
                continue
            sampled = relative in (data.reference_path, data.current)
            try:
                dataset = Dataset(loaded.resolve(relative), relative, data.format, dtypes)
                scan = FileScan(dataset, data, numeric if sampled else [],
                                categorical if sampled else []).scan()
            except MlopsError as error:
                checks.append(_check(f"{split}.file", "fail", str(error)))
                scans[relative] = None
                continue
            scans[relative] = scan
            checks.extend(_file_checks(split, scan, loaded.spec.model.task != "regression"))
        drift_checks, scores = _drift_checks(data, scans, numeric, categorical)
        checks.extend(drift_checks)
        charts = {}
        if scores:
            method = data.drift.method
            charts["drift"] = bars_chart(
                f"Drift per feature ({LABELS[method]})", scores, threshold=data.drift.threshold,
                higher_is_worse=method not in P_VALUE_METHODS)
        return GateResult(gate=NAME, checks=checks, charts=charts)


GATE = DataGate()


def _is_numeric(column: Column) -> bool:
    return column.dtype in _NUMERIC and column.allowed is None


def _splits(data: Data) -> list[tuple[str, str]]:
    splits = [("train", data.train), ("test", data.test), ("reference", data.reference_path)]
    if data.current:
        splits.append(("current", data.current))
    return splits


def _check(name: str, status: Status, message: str, **extra: Any) -> CheckResult:
    return CheckResult(gate=NAME, name=name, status=status, message=message, **extra)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _shown(value: Any) -> str:
    return format_number(value) if isinstance(value, float) else f"'{value}'"


# --- per-file checks -------------------------------------------------------------------------


def _file_checks(split: str, scan: FileScan, classification: bool) -> list[CheckResult]:
    data, dataset, display = scan.data, scan.dataset, scan.dataset.display
    checks = [_columns_check(split, scan)]
    if dataset.malformed.count:
        bad = dataset.malformed
        checks.append(_check(
            f"{split}.file", "fail",
            f"{display}: {_plural(bad.count, 'malformed row')} skipped (expected "
            f"{bad.expected_fields} fields, got {bad.first_fields}), first: '{bad.first_text}'",
            observed=bad.count))
    problems = [dataset.problems[c].describe(display) for c in scan.columns if c in dataset.problems]
    checks.append(_check(f"{split}.types", "fail" if problems else "pass",
                         "; ".join(problems) or f"{display}: every value fits its column's dtype",
                         observed=len(problems)))
    typed = [c for c in scan.columns if c not in dataset.problems]
    checks.append(_rule_check(
        f"{split}.nulls", display, "no nulls in non-nullable columns",
        [(c, scan.tallies[c].nulls, "is not nullable but has {n} nulls, first at row {row}")
         for c in typed if not data.columns[c].nullable]))
    if any(data.columns[c].min is not None or data.columns[c].max is not None for c in typed):
        rules = []
        for c in typed:
            column = data.columns[c]
            if column.min is not None:
                rules.append((c, scan.tallies[c].below,
                              f"has {{n}} values below min {format_number(column.min)}, "
                              "first {value} at row {row}"))
            if column.max is not None:
                rules.append((c, scan.tallies[c].above,
                              f"has {{n}} values above max {format_number(column.max)}, "
                              "first {value} at row {row}"))
        checks.append(_rule_check(f"{split}.ranges", display, "every value within min/max", rules))
    allowed = [c for c in typed if data.columns[c].allowed is not None]
    if allowed:
        checks.append(_rule_check(
            f"{split}.allowed", display, "every value is an allowed value",
            [(c, scan.tallies[c].outside,
              f"has {{n}} values outside [{', '.join(str(v) for v in data.columns[c].allowed or [])}]"
              ", first {value} at row {row}") for c in allowed]))
    checks.extend(_quality_checks(split, scan, typed, classification))
    return checks


def _columns_check(split: str, scan: FileScan) -> CheckResult:
    data, display, header = scan.data, scan.dataset.display, scan.dataset.header
    optional = {data.target} if split in ("reference", "current") else set()
    missing = [c for c in data.columns if c not in header and c not in optional]
    extra = [c for c in header if c not in data.columns]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if missing or duplicated:
        parts = [f"missing column '{c}'{suggest(c, extra)}" for c in missing]
        parts += [f"column '{c}' appears {header.count(c)} times" for c in duplicated]
        if extra:
            parts.append(f"not in the schema: {_quoted(extra)}")
        return _check(f"{split}.columns", "fail", f"{display}: {'; '.join(parts)}",
                      observed=len(missing) + len(duplicated), details={"missing": missing,
                                                                        "extra": extra})
    if extra:
        return _check(f"{split}.columns", "warn",
                      f"{display}: {_plural(len(extra), 'column')} not in the schema: "
                      f"{_quoted(extra)}", observed=len(extra), details={"extra": extra})
    present = len([c for c in data.columns if c in header])
    return _check(f"{split}.columns", "pass", f"{display}: all {present} schema columns present",
                  observed=0)


def _rule_check(name: str, display: str, ok: str,
                rules: list[tuple[str, Offenders, str]]) -> CheckResult:
    broken = [(column, offenders, text) for column, offenders, text in rules if offenders.count]
    if not broken:
        return _check(name, "pass", f"{display}: {ok}", observed=0)
    parts = [f"column '{column}' " + text.format(n=offenders.count, row=offenders.first_row,
                                                 value=_shown(offenders.first_value))
             for column, offenders, text in broken]
    total = sum(offenders.count for _, offenders, _ in broken)
    return _check(name, "fail", f"{display}: {'; '.join(parts)}", observed=total)


def _quality_checks(split: str, scan: FileScan, typed: list[str],
                    classification: bool) -> list[CheckResult]:
    rules, display, rows = scan.data.checks, scan.dataset.display, scan.rows
    checks = [compare(NAME, f"{split}.rows", f"{display}: rows", rows,
                      Threshold(expr=f">= {rules.min_rows}"))]
    if typed and rows:
        fractions = {c: scan.tallies[c].nulls.count / rows for c in typed}
        worst = max(fractions, key=lambda c: fractions[c])
        label = (f"{display}: null fraction of column '{worst}'" if fractions[worst]
                 else f"{display}: largest null fraction")
        checks.append(compare(NAME, f"{split}.null_fraction", label, fractions[worst],
                              Threshold(expr=f"<= {rules.max_null_fraction}")))
    if rows:
        count, row, original = scan.duplicates()
        check = compare(NAME, f"{split}.duplicates", f"{display}: duplicate row fraction",
                        count / rows, Threshold(expr=f"<= {rules.max_duplicate_fraction}"),
                        details={"duplicates": count})
        if count:
            check.message += (f" ({_plural(count, 'duplicate row')}, first: row {row} repeats "
                              f"row {original})")
        checks.append(check)
    target = scan.data.target
    if (classification and rules.min_class_fraction is not None and target in typed
            and scan.classes.counts):
        allowed = scan.data.columns[target].allowed
        counts = {str(v): 0 for v in allowed or []}
        # values outside `allowed` are the allowed check's finding, not classes
        counts.update({k: n for k, n in scan.classes.counts.items() if not allowed or k in counts})
        total = sum(counts.values())
        smallest = min(counts, key=lambda c: (counts[c], c))
        checks.append(compare(NAME, f"{split}.class_balance",
                              f"{display}: smallest class fraction (class '{smallest}')",
                              counts[smallest] / total,
                              Threshold(expr=f">= {rules.min_class_fraction}"),
                              details={"classes": counts}))
    return checks


# --- drift -----------------------------------------------------------------------------------


def _drift_checks(data: Data, scans: dict[str, FileScan | None], numeric: list[str],
                  categorical: list[str]) -> tuple[list[CheckResult], dict[str, float]]:
    if data.current is None:
        return [_check("drift", "skip", "no data.current in the spec: drift not checked (set it to "
                       f"a fresh batch to compare with {data.reference_path})")], {}
    reference, current = scans.get(data.reference_path), scans.get(data.current)
    if reference is None or current is None:
        unreadable = data.reference_path if reference is None else data.current
        return [_check("drift", "skip", f"drift not checked: {unreadable} could not be read")], {}
    rules = data.drift
    comparison = Threshold(expr=f"{'>=' if rules.method in P_VALUE_METHODS else '<='} "
                                f"{rules.threshold}", severity=rules.feature_severity)
    checks: list[CheckResult] = []
    scores: dict[str, float] = {}
    for feature in numeric + categorical:
        name = f"drift.{feature}"
        unusable = _unusable(feature, reference, current)
        if unusable:
            checks.append(_check(name, "skip", f"{feature}: not compared ({unusable})"))
            continue
        score = _score(feature, rules.method, rules.bins, reference, current)
        if math.isnan(score.score):
            checks.append(_check(name, "skip", f"{feature}: not compared (no values)"))
            continue
        label = f"{feature} {LABELS[score.method]}"
        checks.append(compare(NAME, name, label, score.score, comparison,
                              details={"method": score.method, **_brief(score.details)}))
        scores[feature] = score.score
    compared = [c for c in checks if c.status != "skip"]
    if not compared:
        checks.append(_check("drift.dataset", "skip", "no feature could be compared"))
        return checks, scores
    drifted = [c.name.removeprefix("drift.") for c in compared if c.status in ("fail", "warn")]
    summary = compare(NAME, "drift.dataset",
                      f"drifted feature fraction ({len(drifted)} of {len(compared)})",
                      len(drifted) / len(compared),
                      Threshold(expr=f"<= {rules.max_drifted_features}"),
                      details={"drifted": drifted, HEADLINE: True})
    if drifted:
        summary.message += f"; drifted: {', '.join(drifted)}"
    return [*checks, summary], scores


def _unusable(feature: str, reference: FileScan, current: FileScan) -> str:
    for scan in (reference, current):
        if feature not in scan.columns:
            return f"missing from {scan.dataset.display}"
        if feature in scan.dataset.problems:
            return f"wrong dtype in {scan.dataset.display}"
    return ""


def _score(feature: str, method: DriftMethod, bins: int, reference: FileScan,
           current: FileScan) -> DriftScore:
    if feature in reference.categorical:
        return score_categories(method, reference.categorical[feature].counts,
                                current.categorical[feature].counts)
    assert reference.sample is not None and current.sample is not None
    return score_numeric(method, reference.sample.column(reference.numeric.index(feature)),
                         current.sample.column(current.numeric.index(feature)), bins)


def _brief(details: dict[str, Any]) -> dict[str, Any]:
    """Scalars only: per-bin counts would bloat every report."""
    return {k: v for k, v in details.items() if isinstance(v, int | float | str)}
