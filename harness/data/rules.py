"""The data gate's per-file rules and their sentences, read off a finished `FileScan`.

Check names are `<split>.<check>`: `columns`, `file` (malformed rows), `types`, `nulls`, `ranges`,
`allowed`, then the quality thresholds `rows`, `null_fraction`, `duplicates` and `class_balance`.
Every failing sentence names the file, the column, how many rows and the first of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops.spec.messages import suggest
from mlops.spec.threshold import Threshold, format_number

from ..result import CheckFactory, CheckResult
from .scan import FileScan
from .tallies import Offenders

NAME = "data"
CHECK = CheckFactory(NAME)


def file_checks(split: str, scan: FileScan, classification: bool) -> list[CheckResult]:
    data, dataset, display = scan.data, scan.dataset, scan.dataset.display
    checks = [_columns_check(split, scan)]
    if dataset.malformed.count:
        bad = dataset.malformed
        checks.append(CHECK(
            f"{split}.file", "fail",
            f"{display}: {_plural(bad.count, 'malformed row')} skipped (expected "
            f"{bad.expected_fields} fields, got {bad.first_fields}), first: '{bad.first_text}'",
            observed=bad.count))
    problems = [dataset.problems[c].describe(display, dataset.locate) for c in scan.columns
                if c in dataset.problems]
    checks.append(CHECK(f"{split}.types", "fail" if problems else "pass",
                        "; ".join(problems) or f"{display}: every value fits its column's dtype",
                        observed=len(problems)))
    typed = [c for c in scan.columns if c not in dataset.problems]
    checks.append(_rule_check(
        f"{split}.nulls", scan, "no nulls in non-nullable columns",
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
        checks.append(_rule_check(f"{split}.ranges", scan, "every value within min/max", rules))
    allowed = [c for c in typed if data.columns[c].allowed is not None]
    if allowed:
        checks.append(_rule_check(
            f"{split}.allowed", scan, "every value is an allowed value",
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
        return CHECK(f"{split}.columns", "fail", f"{display}: {'; '.join(parts)}",
                     observed=len(missing) + len(duplicated), details={"missing": missing,
                                                                       "extra": extra})
    if extra:
        return CHECK(f"{split}.columns", "warn",
                     f"{display}: {_plural(len(extra), 'column')} not in the schema: "
                     f"{_quoted(extra)}", observed=len(extra), details={"extra": extra})
    present = len([c for c in data.columns if c in header])
    return CHECK(f"{split}.columns", "pass", f"{display}: all {present} schema columns present",
                 observed=0)


def _rule_check(name: str, scan: FileScan, ok: str,
                rules: list[tuple[str, Offenders, str]]) -> CheckResult:
    display, locate = scan.dataset.display, scan.dataset.locate
    broken = [(column, offenders, text) for column, offenders, text in rules if offenders.count]
    if not broken:
        return CHECK(name, "pass", f"{display}: {ok}", observed=0)
    parts = [f"column '{column}' " + text.format(n=offenders.count, row=locate(offenders.first_row),
                                                 value=_shown(offenders.first_value))
             for column, offenders, text in broken]
    total = sum(offenders.count for _, offenders, _ in broken)
    return CHECK(name, "fail", f"{display}: {'; '.join(parts)}", observed=total)


def _quality_checks(split: str, scan: FileScan, typed: list[str],
                    classification: bool) -> list[CheckResult]:
    rules, display, rows = scan.data.checks, scan.dataset.display, scan.rows
    checks = [CHECK.compare(f"{split}.rows", f"{display}: rows", rows,
                            Threshold.of(">=", rules.min_rows))]
    if typed and rows:
        fractions = {c: scan.tallies.columns[c].nulls.count / rows for c in typed}
        worst = max(fractions, key=lambda c: fractions[c])
        label = (f"{display}: null fraction of column '{worst}'" if fractions[worst]
                 else f"{display}: largest null fraction")
        checks.append(CHECK.compare(f"{split}.null_fraction", label, fractions[worst],
                                    Threshold.of("<=", rules.max_null_fraction)))
    if rows:
        count, row, original = scan.duplicates()
        check = CHECK.compare(f"{split}.duplicates", f"{display}: duplicate row fraction",
                              count / rows, Threshold.of("<=", rules.max_duplicate_fraction),
                              details={"duplicates": count})
        if count:
            locate = scan.dataset.locate
            check.message += (f" ({_plural(count, 'duplicate row')}, first: row {locate(row)} "
                              f"repeats row {locate(original)})")
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
        checks.append(CHECK.compare(f"{split}.class_balance",
                                    f"{display}: smallest class fraction (class '{smallest}')",
                                    counts[smallest] / total,
                                    Threshold.of(">=", rules.min_class_fraction),
                                    details={"classes": counts}))
    return checks


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _shown(value: Any) -> str:
    return format_number(value) if isinstance(value, float) else f"'{value}'"
