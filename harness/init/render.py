"""The commented mlops.yaml `mlops init` writes: every inferred or measured value with a comment
saying where it came from, the rest at the documented defaults.

Pure text from a `Draft`: the same draft always renders the same bytes. Nothing measured in time
appears verbatim (the comments state the rules; `mlops init` prints the raw measurements), so a
file is reproducible from the same data and model.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mlops.core.catalogue import METRIC_LABELS

from ..data.datasets import FileFormat
from .binding import Binding
from .measure import BATCH_SIZES, DECISIVE_SWAP, Measurements
from .proposals import (
    ERROR_MARGIN,
    ERROR_RATE,
    FLIP_FLOOR,
    FLIP_MARGIN,
    LATENCY_FACTOR,
    LATENCY_FLOOR_MS,
    LOAD_DURATION,
    LOAD_FACTOR,
    LOAD_P95_FLOOR_MS,
    LOAD_P99_FACTOR,
    LOAD_USERS,
    METRIC_MARGIN,
    NO_REGRESSION,
    NULL_MARGIN,
    THROUGHPUT_CAP,
    THROUGHPUT_DIVISOR,
    MetricThreshold,
    Slos,
)
from .rounding import text
from .schema import RULES_COMMENT, ProposedColumn

COMMENT_COLUMN = 36
WIDTH = 110
DRIFT_THRESHOLD = "0.25"
MAX_DRIFTED = "0.3"
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})
"""Words YAML 1.1 readers (editors, older tools) take for booleans or null: always quoted."""


@dataclass(frozen=True)
class Files:
    """The files as the spec names them (relative to its folder), with their row counts."""

    train: str
    test: str
    current: str | None
    model: str
    format: FileFormat
    rows: dict[str, int]
    test_given: bool


@dataclass(frozen=True)
class Share:
    """A fraction observed in the data, and where."""

    value: float
    what: str
    file: str


@dataclass(frozen=True)
class DataChecks:
    min_rows: int
    smallest_file: str
    max_null_fraction: Decimal
    worst_nulls: Share | None
    min_class_fraction: Decimal | None
    smallest_class: Share | None


@dataclass(frozen=True)
class Deployment:
    image: str
    environment: str
    namespace: str
    gitops: str
    repository: str | None


@dataclass(frozen=True)
class Measured:
    measurements: Measurements
    metrics: list[MetricThreshold]
    max_flip_fraction: Decimal
    slos: Slos


@dataclass(frozen=True)
class Draft:
    name: str
    files: Files
    target: str
    columns: tuple[ProposedColumn, ...]
    """The features in the model's order, then the target."""
    binding: Binding
    checks: DataChecks
    deployment: Deployment
    measured: Measured | None = None
    """None for the first draft, which is only loaded to measure the model."""


def render(draft: Draft) -> str:
    sections = [_header(draft), _data(draft), _model(draft), _metrics(draft), _benchmark(draft),
                _load(draft), _serving(), _deploy(draft), _monitors(draft), _install()]
    return "\n".join(section for section in sections if section)


# --- formatting -------------------------------------------------------------------------------


def scalar(value: str | int | float | bool | Decimal) -> str:
    """One YAML scalar: plain when every reader takes it as this string or number, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return text(value)
    if isinstance(value, int | float):
        return str(value)
    if _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _flow(items: Sequence[str | int]) -> str:
    return "[" + ", ".join(scalar(item) for item in items) + "]"


def _line(indent: int, body: str, comment: str = "") -> str:
    """`body` with its comment beside it, or above it when the line would pass WIDTH."""
    prefix = " " * indent + body
    if not comment:
        return prefix
    line = (f"{prefix.ljust(COMMENT_COLUMN - 1)} # {comment}" if len(prefix) < COMMENT_COLUMN - 1
            else f"{prefix}  # {comment}")
    if len(line) <= WIDTH:
        return line
    return "\n".join([*_block(indent, comment), prefix])


def _block(indent: int, comment: str) -> list[str]:
    """A comment paragraph wrapped at WIDTH."""
    return textwrap.wrap(comment, WIDTH - indent - 2, initial_indent=" " * indent + "# ",
                         subsequent_indent=" " * indent + "# ", break_on_hyphens=False)


def _join(lines: Sequence[str]) -> str:
    return "\n".join(lines) + "\n"


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


# --- sections ---------------------------------------------------------------------------------


def _header(draft: Draft) -> str:
    files = draft.files
    named = [files.train] + ([files.test] if files.test_given else []) + (
        [files.current] if files.current else [])
    sources = ", ".join(named) + f" and {files.model}"
    lines = ["# yaml-language-server: $schema=generated/mlops.schema.json"]
    lines += _block(0, f"Written by `mlops init` from {sources}: each value was inferred from "
                       "them or measured on them, and its comment says how. `mlops validate` "
                       "checks this file, `mlops compile` writes the pipelines and manifests from "
                       "it, `mlops release` runs every gate. Edit it freely: init never overwrites "
                       "a spec.")
    lines += ["version: 1", f"name: {draft.name}"]
    return _join(lines)


def _data(draft: Draft) -> str:
    files, checks = draft.files, draft.checks
    lines = ["data:", f"  format: {files.format}",
             _line(2, f"train: {scalar(files.train)}", _rows(files.rows[files.train]))]
    if files.test_given:
        lines.append(_line(2, f"test: {scalar(files.test)}",
                           f"{_rows(files.rows[files.test])}: the model gate evaluates on it"))
    else:
        lines.append(_line(2, f"test: {scalar(files.test)}", "no --test given: the model gate "
                           "evaluates on the training rows; name a held-out split"))
    if files.current:
        lines.append(_line(2, f"current: {scalar(files.current)}", f"{_rows(files.rows[files.current])}"
                           ": a fresh batch, checked for drift against train"))
    lines.append(f"  target: {scalar(draft.target)}")
    lines += _block(2, "The schema, inferred in one streaming pass over each file above. "
                       + RULES_COMMENT + _null_value_note(draft))
    lines.append(_line(2, "schema:", _schema_note(draft.binding)))
    if draft.binding.left_out:
        lines += _block(4, f"Not taken by the model, so not in the schema (the data gate warns "
                           f"about them): {', '.join(draft.binding.left_out)}.")
    for column in draft.columns:
        lines.append(_line(4, f"{scalar(column.name)}: {_column(column)}", _column_note(column, draft)))
    lines.append("  checks:")
    lines.append(_line(4, f"min_rows: {checks.min_rows}", f"half the smallest file's "
                       f"{_rows(files.rows[checks.smallest_file])} ({checks.smallest_file}), to 1-2-5"))
    if checks.worst_nulls is None:
        lines.append(_line(4, f"max_null_fraction: {text(checks.max_null_fraction)}",
                           "no nulls in any file"))
    else:
        worst = checks.worst_nulls
        lines.append(_line(4, f"max_null_fraction: {text(checks.max_null_fraction)}",
                           f"most nulls: {worst.value:.4f} ({worst.what}, {worst.file}) "
                           f"+ {text(NULL_MARGIN)}, rounded up"))
    if checks.min_class_fraction is not None and checks.smallest_class is not None:
        least = checks.smallest_class
        lines.append(_line(4, f"min_class_fraction: {text(checks.min_class_fraction)}",
                           f"half the smallest class share ({least.value:.4f}, "
                           f"{scalar(least.what)} in {least.file}), rounded down"))
    lines.append(_line(4, "# max_duplicate_fraction: 0.01", "default 1.0, not checked: set it "
                       "when duplicates are errors"))
    lines.append(_line(2, "drift:", _drift_note(draft.columns[:-1])))
    lines.append("    method: psi")
    lines.append(_line(4, f"threshold: {DRIFT_THRESHOLD}", "psi above 0.25: a significant shift "
                       "(0.1 to 0.25: moderate)"))
    lines.append(_line(4, f"max_drifted_features: {MAX_DRIFTED}", "the share of drifted features "
                       "that fails the gate"))
    return _join(lines)


def _column(column: ProposedColumn) -> str:
    parts = [f"dtype: {column.dtype}"]
    if column.nullable:
        parts.append("nullable: true")
    if column.minimum is not None:
        parts.append(f"min: {text(column.minimum)}")
    if column.maximum is not None:
        parts.append(f"max: {text(column.maximum)}")
    if column.allowed is not None:
        parts.append(f"allowed: {_flow(column.allowed)}")
    return "{" + ", ".join(parts) + "}"


def _schema_note(binding: Binding) -> str:
    if binding.layout == "matrix":
        (single,) = binding.contract.inputs
        return f"the model's input {single.describe()} takes these in order; then the target"
    return "one graph input per column, in its order; then the target"


def _column_note(column: ProposedColumn, draft: Draft) -> str:
    return "the target" if column.name == draft.target else ""


def _null_value_note(draft: Draft) -> str:
    if not any(c.nullable and c.dtype == "str" for c in draft.columns if c.name != draft.target):
        return ""
    return (' A null of a nullable text column reaches the model as its null_value (default ""): '
            "train the model with the same placeholder.")


def _drift_note(features: Sequence[ProposedColumn]) -> str:
    numeric = [c.name for c in features if c.dtype in ("float", "int") and c.allowed is None]
    counted = len(features) - len(numeric)
    return (f"psi for every feature: {len(numeric)} numeric binned, {counted} categorical by "
            "their value shares")


def _model(draft: Draft) -> str:
    binding, files = draft.binding, draft.files
    lines = ["model:", _line(2, f"task: {binding.task}", binding.task_reason),
             _line(2, f"artifact: {scalar(files.model)}", _inputs_note(binding))]
    if binding.output is not None:
        others = ", ".join(binding.other_outputs)
        lines.append(_line(2, f"output: {scalar(binding.output)}", f"the answer; the graph also "
                           f"returns {others}"))
    if binding.labels is not None:
        lines.append(_line(2, f"labels: {_flow(binding.labels)}", binding.labels_reason))
    elif binding.task != "regression":
        lines.append(_line(2, "# labels: [...]", f"class names in output order, for the reports "
                           f"({binding.labels_reason})"))
    lines.append(_line(2, "# train: python train.py", "(re)produces the artifact; release runs "
                       "it when the artifact is missing"))
    lines.append(_line(2, "# source: {framework: sklearn, path: models/model.joblib}",
                       "the native model, for ONNX parity"))
    lines.append(_line(2, "baseline: {ref: origin/main}", "no_regression compares with the model "
                       "here (skipped until it exists)"))
    return _join(lines)


def _inputs_note(binding: Binding) -> str:
    if binding.layout == "matrix":
        return "one numeric input, every feature in schema order"
    elements = sorted({binding_input.element for binding_input in binding.contract.inputs})
    return f"{len(binding.contract.inputs)} inputs, one per column ({', '.join(elements)})"


def _metrics(draft: Draft) -> str:
    task, measured = draft.binding.task, draft.measured
    lines = ["metrics:"]
    if measured is not None:
        lines += _block(2, f"Measured on {draft.files.test} "
                           f"({_rows(measured.measurements.test_rows)}): a score's threshold is the "
                           f"measured value - {text(METRIC_MARGIN)}, rounded down to 0.01; an "
                           f"error's is the measured value x {text(ERROR_MARGIN)}, rounded up to 2 "
                           "significant digits.")
        for threshold in measured.metrics:
            expression = f'"{threshold.operator} {text(threshold.limit)}"'
            value = (expression if threshold.severity == "error"
                     else f"{{expr: {expression}, severity: {threshold.severity}}}")
            lines.append(_line(2, f"{threshold.name}: {value}",
                               f"measured {threshold.measured:.4f} ({METRIC_LABELS[threshold.name]})"))
    regression = ", ".join(f"{name}: {value}" for name, value in NO_REGRESSION[task].items())
    lines.append(_line(2, f"no_regression: {{{regression}}}", "the largest drop allowed against "
                       "the baseline model"))
    lines.append(_line(2, '# slices: [{by: "feature > 10", metric: accuracy, threshold: ">= 0.9"}]',
                       "metrics on subsets"))
    if measured is not None and draft.binding.task != "regression":
        found = measured.measurements
        fraction = found.flipped / found.perturbed if found.perturbed else 0.0
        lines.append("  robustness:")
        if found.sample_rows < found.test_rows:
            lines += _block(4, f"Measured on {found.sample_rows:,} of the {found.test_rows:,} test "
                               "rows, sampled as the model gate samples them.")
        if found.decisive:
            shares = ", ".join(f"{name} ({share:.4f})" for name, share in found.decisive.items())
            lines += _block(4, "Swapping one of these alone for another of its values flips more "
                               f"than {DECISIVE_SWAP:g} of the test labels: another value is "
                               f"another case, not a small change, so they are kept: {shares}.")
            kept = ", ".join(f"{scalar(name)}: keep" for name in found.decisive)
            lines.append(f"    perturb: {{{kept}}}")
        lines.append(_line(4, f"max_flip_fraction: {text(measured.max_flip_fraction)}",
                           f"measured {fraction:.4f} ({found.flipped} of {found.perturbed}), "
                           f"+ {text(FLIP_MARGIN)}, rounded up, at least {text(FLIP_FLOOR)}"))
    return _join(lines)


def _benchmark(draft: Draft) -> str:
    lines = ["benchmark:"]
    slos = draft.measured.slos if draft.measured is not None else None
    if slos is not None:
        lines += _block(2, "onnxruntime on 1 thread, up to 200 timed runs per batch size (about a "
                           "second of them). The SLOs come "
                           "from the median latency measured when this file was written (`mlops "
                           f"init` prints it): p95 at batch 1 under {text(LATENCY_FACTOR)}x it, on "
                           f"the 1-2-5 grid, at least {text(LATENCY_FLOOR_MS)} ms; throughput at "
                           f"batch 64 above 1/{text(THROUGHPUT_DIVISOR)} of its rate, rounded down "
                           f"to 1-2-5, at most {text(THROUGHPUT_CAP)} rows/s. CI runners are slower "
                           "and busier than the machine that measured; max_slowdown, timed against "
                           "the baseline model in the same run, is the sharp check.")
    lines.append(f"  batch_sizes: {_flow(list(BATCH_SIZES))}")
    lines.append("  threads: 1")
    if slos is not None:
        lines.append(f'  thresholds: {{p95_ms@1: "< {text(slos.p95_ms_at_1)}", '
                     f'rows_per_s@64: "> {text(slos.rows_per_s_at_64)}"}}')
    lines.append(_line(2, "max_slowdown: 2.0", "p50 at most twice the baseline model's, timed "
                       "interleaved"))
    return _join(lines)


def _load(draft: Draft) -> str:
    lines = ["load:"]
    slos = draft.measured.slos if draft.measured is not None else None
    if slos is not None:
        lines += _block(2, "Derived from the benchmark, not from a load run: p95 under "
                           f"{text(LOAD_FACTOR)}x the median latency at batch 64 (the most a "
                           "coalesced batch holds), on the 1-2-5 grid, at least "
                           f"{text(LOAD_P95_FLOOR_MS)} ms (HTTP, JSON and Locust sharing the cores "
                           f"outweigh a fast model); p99 under {text(LOAD_P99_FACTOR)}x that; "
                           f"throughput above half of what {LOAD_USERS} users reach if every "
                           "request took the p95 SLO, rounded down to 1-2-5.")
    lines += [f"  users: {LOAD_USERS}", f"  spawn_rate: {LOAD_USERS}", f"  duration: {LOAD_DURATION}"]
    if slos is not None:
        lines.append(f'  thresholds: {{p95_ms: "< {text(slos.load_p95_ms)}", p99_ms: '
                     f'"< {text(slos.load_p99_ms)}", error_rate: "< {text(ERROR_RATE)}", '
                     f'rps: "> {text(slos.load_rps)}"}}')
    return _join(lines)


def _serving() -> str:
    return _join([
        _line(0, "serving:", "the defaults (README, spec reference)"),
        "  port: 8080",
        "  max_batch_size: 32",
        "  max_batch_delay_ms: 2",
        _line(2, "on_schema_violation: reject", "a request outside data.schema gets a 422 naming "
              "the rule; log: answer it and count it"),
    ])


def _deploy(draft: Draft) -> str:
    deployment = draft.deployment
    lines = ["deploy:", _line(2, f"image: {deployment.image}", "--image: the repository the "
                              "release workflow pushes to"),
             _line(2, f"gitops: {deployment.gitops}", "--gitops: argocd, flux or none")]
    if deployment.repository:
        lines.append(_line(2, f"repository: {scalar(deployment.repository)}",
                           "--repository: the Git URL the controller syncs from"))
    lines.append(_line(2, "environments:", "--environment NAME:NAMESPACE; add the next ones in "
                       "promotion order"))
    lines.append(f"    - {{name: {deployment.environment}, namespace: {deployment.namespace}}}")
    return _join(lines)


def _monitors(draft: Draft) -> str:
    lines = ["monitors:", '  schedule: "0 * * * *"',
             f"  drift: {{method: psi, threshold: {DRIFT_THRESHOLD}, "
             f"max_drifted_features: {MAX_DRIFTED}}}"]
    if draft.measured is not None:
        lines.append(_line(2, f"latency: {{p95_ms: {text(draft.measured.slos.load_p95_ms)}}}",
                           "the load test's p95 SLO, on served traffic"))
    lines += [f"  error_rate: {{max: {text(ERROR_RATE)}}}", "  on_alert: [open_issue]"]
    return _join(lines)


def _install() -> str:
    lines = _block(0, "install: where CI and the image install mlops from, left at its default: "
                      "mlops-yaml pinned to the version that compiles, from the package index. "
                      "Until mlops-yaml is published there, name a wheel you commit or a URL you "
                      "control (README, \"Adopting mlops in your own repository\"):")
    lines += ["# install:",
              "#   source: wheels/mlops_yaml-X.Y.Z-py3-none-any.whl",
              "#   requirements: [requirements.txt]   # your training stack, for the PR and "
              "retrain workflows"]
    return _join(lines)
