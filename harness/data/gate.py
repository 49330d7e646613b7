"""The data gate: schema, quality and drift of the spec's data files, read once each, streaming.

Each distinct file (train, test, reference, current) is scanned once in record batches, its parts
on every core at once; the scan keeps only tallies (counts and the first offending row), one 8-byte
hash per row for duplicates, exact category counts and a bounded row sample of the drift features
(`harness.stats.sketch`), merged in file order.

Check names are `<split>.<check>` (`train.columns`, `current.ranges`...) and `drift.<feature>`.
A feature whose drift score crosses the threshold fails (it is a release gate: a shifted feature
must stop the release) unless `drift.feature_severity` is `warn`; `drift.dataset` adds the spec's
drifted-feature fraction verdict.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlops.core.errors import MlopsError
from mlops.spec.loader import LoadedSpec
from mlops.spec.messages import suggest
from mlops.spec.models import Column, Data, DriftMethod
from mlops.spec.threshold import Threshold, format_number

from ..gate import GateOptions
from ..result import HEADLINE, CheckResult, GateResult, Status, bars_chart, compare
from ..stats import CategoryCounter, DriftScore, Reservoir, score_categories, score_numeric
from ..stats.drift import LABELS, P_VALUE_METHODS
from ..stats.sketch import mix64
from . import arrow_numpy
from .datasets import Batch, Dataset, Part

NAME = "data"
_NUMERIC = ("float", "int")
_PRIME = np.uint64(0x100000001B3)
"""FNV's 64-bit prime: each (hash ^ column) * prime step is a bijection, so rows differing in one
column never collide; splitmix64 then spreads the bits before the hashes are compared."""
_NULL_TEXT = 0x6E756C6C
"""The hash of a missing text value (any constant: it only has to differ from the others')."""
_WORD = (1 << 64) - 1


@dataclass
class Offenders:
    """How many rows break a rule, and the first of them."""

    count: int = 0
    first_row: int = 0
    first_value: Any = None

    def add(self, mask: npt.NDArray[np.bool_], start: int,
            value_at: Callable[[int], Any] | None = None) -> None:
        found = int(np.count_nonzero(mask))
        if found and not self.count:
            index = int(np.argmax(mask))
            self.first_row = start + index + 1
            if value_at is not None:
                self.first_value = value_at(index)
        self.count += found

    def merge(self, later: Offenders, offset: int) -> None:
        """Fold in the offenders of rows that come `offset` rows after this tally's first row."""
        if later.count and not self.count:
            self.first_row, self.first_value = later.first_row + offset, later.first_value
        self.count += later.count


@dataclass
class ColumnTally:
    nulls: Offenders = field(default_factory=Offenders)
    below: Offenders = field(default_factory=Offenders)
    above: Offenders = field(default_factory=Offenders)
    outside: Offenders = field(default_factory=Offenders)

    def merge(self, later: ColumnTally, offset: int) -> None:
        for mine, theirs in ((self.nulls, later.nulls), (self.below, later.below),
                             (self.above, later.above), (self.outside, later.outside)):
            mine.merge(theirs, offset)


@dataclass(frozen=True)
class _Coded:
    """A text column as dictionary codes: each question is answered once per distinct value."""

    values: list[str | None]
    codes: npt.NDArray[np.int64]

    @classmethod
    def of(cls, array: pa.Array) -> _Coded:
        encoded = pc.dictionary_encode(array, null_encoding="encode")
        return cls(encoded.dictionary.to_pylist(), arrow_numpy.integers(encoded.indices))

    def per_row(self, answers: list[Any], dtype: type) -> npt.NDArray[Any]:
        result: npt.NDArray[Any] = np.array(answers, dtype=dtype)[self.codes]
        return result

    def value_at(self, row: int) -> str | None:
        return self.values[int(self.codes[row])]

    def count_into(self, counter: CategoryCounter) -> None:
        counts = np.bincount(self.codes, minlength=len(self.values))
        for value, times in zip(self.values, counts.tolist(), strict=True):
            if value is not None and times:
                counter.count(value, times)


class Tallies:
    """What the checks need from some rows of one file, accumulated batch by batch."""

    def __init__(self, columns: list[str], categorical: list[str]) -> None:
        self.columns = {name: ColumnTally() for name in columns}
        self.categorical = {name: CategoryCounter() for name in categorical}
        self.classes = CategoryCounter()
        self.rows = 0
        self.hashes: list[npt.NDArray[np.uint64]] = []

    def merge(self, later: Tallies) -> None:
        """Fold in the tallies of the rows that follow these."""
        for name, tally in self.columns.items():
            tally.merge(later.columns[name], self.rows)
        for name, counter in self.categorical.items():
            counter.merge(later.categorical[name])
        self.classes.merge(later.classes)
        self.hashes.extend(later.hashes)
        self.rows += later.rows


class FileScan:
    """Everything the checks need from one file: its parts are tallied on every core at once,
    then merged in file order. The row sample is shared (a bottom-k sample is the same whatever
    order its rows arrive in), so memory holds one sample, not one per part."""

    def __init__(self, dataset: Dataset, data: Data, numeric: list[str],
                 categorical: list[str]) -> None:
        self.dataset = dataset
        self.data = data
        self.columns = [name for name in data.columns if name in dataset.header]
        self.numeric = [name for name in numeric if name in self.columns]
        self.categorical = [name for name in categorical if name in self.columns]
        self.tallies = Tallies(self.columns, self.categorical)
        self.sample = Reservoir(len(self.numeric)) if self.numeric else None
        self._sample_lock = threading.Lock()

    def scan(self) -> FileScan:
        parts = self.dataset.parts(self.columns)
        cores = _cores()
        pool = ThreadPoolExecutor(max_workers=cores)
        try:
            if len(parts) == 1:
                self._scan_batches(parts[0], pool, cores)
            else:
                for tallies in pool.map(self._tally_part, parts):
                    self.tallies.merge(tallies)
        finally:  # an unreadable part (or Ctrl-C) stops the work not yet started
            pool.shutdown(cancel_futures=True)
        self.dataset.collect(parts)
        return self

    def _scan_batches(self, part: Part, pool: ThreadPoolExecutor, cores: int) -> None:
        """One part (a small CSV, a Parquet file of one row group): its reader decodes on
        pyarrow's threads, and its batches are tallied on ours, at most `cores` ahead."""
        pending: deque[Future[Tallies]] = deque()
        for batch in part.batches():
            pending.append(pool.submit(self._tally, [batch]))
            if len(pending) > cores:
                self.tallies.merge(pending.popleft().result())
        while pending:
            self.tallies.merge(pending.popleft().result())

    def _tally_part(self, part: Part) -> Tallies:
        return self._tally(part.batches())

    def _tally(self, batches: Iterable[Batch]) -> Tallies:
        """Tallies of consecutive rows, numbered from the first of them."""
        tallies = Tallies(self.columns, self.categorical)
        for batch in batches:
            self._add(tallies, batch)
        return tallies

    def _add(self, tallies: Tallies, batch: Batch) -> None:
        start, data, rows = tallies.rows, batch.data, batch.num_rows
        tallies.rows += rows
        row_hash = np.full(rows, 0x9E3779B97F4A7C15, dtype=np.uint64)
        numbers: dict[str, npt.NDArray[np.float64]] = {}
        for name in self.columns:
            spec = self.data.columns[name]
            array = data.column(name)
            tally = tallies.columns[name]
            if spec.dtype in _NUMERIC or spec.dtype == "bool":
                values = arrow_numpy.floats(array)
                numbers[name] = values
                missing = np.isnan(values)
                if missing.any():  # NaN has many bit patterns: hash one
                    tally.nulls.add(missing, start)
                    _mix_into(row_hash, np.where(missing, np.nan, values).view(np.uint64))
                else:
                    _mix_into(row_hash, values.view(np.uint64))
                _check_numbers(spec, tally, values, missing, start)
                if name in tallies.categorical:
                    tallies.categorical[name].add(array)
                if name == self.data.target:
                    tallies.classes.add(array)
            else:
                coded = _Coded.of(array)
                hashes = [_NULL_TEXT if v is None else hash(v) & _WORD for v in coded.values]
                _mix_into(row_hash, coded.per_row(hashes, np.uint64))
                tally.nulls.add(coded.per_row([v is None for v in coded.values], bool), start)
                _check_text(spec, tally, coded, start)
                if name in tallies.categorical:
                    coded.count_into(tallies.categorical[name])
                if name == self.data.target:
                    coded.count_into(tallies.classes)
        tallies.hashes.append(mix64(row_hash))
        if self.sample is not None:
            block = np.column_stack([numbers[name] for name in self.numeric])
            with self._sample_lock:
                self.sample.add(block, batch.row_keys())

    @property
    def rows(self) -> int:
        return self.tallies.rows

    def duplicates(self) -> tuple[int, int, int]:
        """(duplicate rows, first duplicate's row, the earlier row it repeats); rows from 1.
        Rows compare by a 64-bit hash of all their values."""
        if not self.tallies.hashes:
            return 0, 0, 0
        hashes = np.concatenate(self.tallies.hashes)
        ordered = np.sort(hashes)
        if not np.any(ordered[1:] == ordered[:-1]):  # the usual case, and the cheap test
            return 0, 0, 0
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        original = first[inverse]
        repeated = original != np.arange(hashes.size)
        index = int(np.argmax(repeated))
        return int(np.count_nonzero(repeated)), index + 1, int(original[index]) + 1


def _cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _mix_into(row_hash: npt.NDArray[np.uint64], column: npt.NDArray[np.uint64]) -> None:
    """One FNV step per column, in place (a 65,536-row batch makes no new arrays)."""
    np.bitwise_xor(row_hash, column, out=row_hash)
    np.multiply(row_hash, _PRIME, out=row_hash)


def _check_numbers(spec: Column, tally: ColumnTally, values: npt.NDArray[np.float64],
                   missing: npt.NDArray[np.bool_], start: int) -> None:
    def value_at(row: int) -> float:
        return float(values[row])

    # fmin/fmax skip NaN: a batch within bounds (the usual case) needs no mask
    if spec.min is not None and values.size and np.fmin.reduce(values) < spec.min:
        tally.below.add(values < spec.min, start, value_at)
    if spec.max is not None and values.size and np.fmax.reduce(values) > spec.max:
        tally.above.add(values > spec.max, start, value_at)
    if spec.allowed is not None:
        allowed = np.array([float(v) for v in spec.allowed if not isinstance(v, str)])
        tally.outside.add(~np.isin(values, allowed) & ~missing, start, value_at)


def _check_text(spec: Column, tally: ColumnTally, coded: _Coded, start: int) -> None:
    if spec.allowed is not None:
        allowed = {str(v) for v in spec.allowed}
        outside = coded.per_row([v is not None and v not in allowed for v in coded.values], bool)
        tally.outside.add(outside, start, coded.value_at)


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
            sampled = data.current is not None and relative in (data.reference_path, data.current)
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
        [(c, scan.tallies.columns[c].nulls, "is not nullable but has {n} nulls, first at row {row}")
         for c in typed if not data.columns[c].nullable]))
    if any(data.columns[c].min is not None or data.columns[c].max is not None for c in typed):
        rules = []
        for c in typed:
            column = data.columns[c]
            if column.min is not None:
                rules.append((c, scan.tallies.columns[c].below,
                              f"has {{n}} values below min {format_number(column.min)}, "
                              "first {value} at row {row}"))
            if column.max is not None:
                rules.append((c, scan.tallies.columns[c].above,
                              f"has {{n}} values above max {format_number(column.max)}, "
                              "first {value} at row {row}"))
        checks.append(_rule_check(f"{split}.ranges", display, "every value within min/max", rules))
    allowed = [c for c in typed if data.columns[c].allowed is not None]
    if allowed:
        checks.append(_rule_check(
            f"{split}.allowed", display, "every value is an allowed value",
            [(c, scan.tallies.columns[c].outside,
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
        fractions = {c: scan.tallies.columns[c].nulls.count / rows for c in typed}
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
            and scan.tallies.classes.counts):
        allowed = scan.data.columns[target].allowed
        counts = {str(v): 0 for v in allowed or []}
        # values outside `allowed` are the allowed check's finding, not classes
        counts.update({k: n for k, n in scan.tallies.classes.counts.items() if not allowed or k in counts})
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
        return score_categories(method, reference.tallies.categorical[feature].counts,
                                current.tallies.categorical[feature].counts)
    assert reference.sample is not None and current.sample is not None
    return score_numeric(method, reference.sample.column(reference.numeric.index(feature)),
                         current.sample.column(current.numeric.index(feature)), bins)


def _brief(details: dict[str, Any]) -> dict[str, Any]:
    """Scalars only: per-bin counts would bloat every report."""
    return {k: v for k, v in details.items() if isinstance(v, int | float | str)}
