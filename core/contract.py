"""The model contract: which graph inputs take which spec columns, and which output is the answer.

Decided once, from the ONNX graph's signature and the spec's columns, and used by everything that
runs the model: the server, every gate, the load test, batch scoring and a team's own checks. Two
input layouts are supported:

- `matrix`: one numeric tensor [batch, n_features] takes every feature, in data.schema order
  (scikit-learn on a float array, torch);
- `columns`: one input per column, named as the column, [batch, 1] or [batch] (a scikit-learn
  ColumnTransformer pipeline exported by skl2onnx/onnxmltools with one input per column), with
  float, integer, bool or string tensors.

Raw values travel to the model as the client sends them: a null in a nullable column becomes NaN
for a float input and the column's `null_value` (default "") for a string input; an integer or
bool input cannot hold a null, so a nullable column cannot feed one. The answer is the class
probabilities for classifiers (a float [batch, classes] tensor, a single positive-class score, or
skl2onnx's ZipMap), the value for regression; the predicted class is always the most probable one.
`model.output` names the output when a graph has several candidates.

This module is pure (no numpy, no onnxruntime) so `mlops validate` can check the contract; the
numeric side lives in `core.runtime`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .onnx_graph import Dim, GraphSignature, ValueInfo, ValueType

ColumnType = Literal["float", "int", "str", "bool", "category"]
Task = Literal["binary_classification", "multiclass_classification", "regression"]
Layout = Literal["matrix", "columns"]
OutputKind = Literal["probabilities", "score", "zipmap", "value"]
KeyPath = tuple[str | int, ...]
Finding = tuple[KeyPath, str]

FLOAT_ELEMENTS = frozenset({"float", "double", "float16"})
INTEGER_ELEMENTS = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                              "uint64"})
TEXT_TYPES = frozenset({"str", "category"})
ACCEPTS: dict[ColumnType, frozenset[str]] = {
    "float": FLOAT_ELEMENTS,
    "int": FLOAT_ELEMENTS | INTEGER_ELEMENTS,
    "bool": FLOAT_ELEMENTS | INTEGER_ELEMENTS | {"bool"},
    "str": frozenset({"string"}),
    "category": frozenset({"string"}),
}
"""Graph element types that can take a column of each spec dtype without losing information."""
PROBABILITY_HINT = "prob"


FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32 (numpy's finfo(float32).max), the bound of an FP32 input."""


@dataclass(frozen=True)
class ColumnRule:
    """What data.schema says about one model input column: the server enforces it per request."""

    name: str
    dtype: ColumnType
    nullable: bool = False
    allowed: tuple[str | int | float | bool, ...] | None = None
    min: float | None = None
    max: float | None = None
    null_value: str = ""

    @property
    def text(self) -> bool:
        return self.dtype in TEXT_TYPES

    @property
    def finite_bounds(self) -> tuple[float, float]:
        """min and max clipped to FP32's range, so one pair of comparisons also flags infinities
        and numbers the model's FP32 inputs cannot hold."""
        return (max(-FLOAT32_MAX, -math.inf if self.min is None else self.min),
                min(FLOAT32_MAX, math.inf if self.max is None else self.max))


@dataclass(frozen=True)
class InputBinding:
    """One graph input and the spec columns it takes (one, or all features for `matrix`)."""

    name: str
    element: str
    columns: tuple[str, ...]
    rank: int

    def describe(self) -> str:
        shape = "[N]" if self.rank == 1 else f"[N, {len(self.columns)}]"
        return f"{self.name} ({self.element} {shape})"


@dataclass(frozen=True)
class ModelContract:
    """The resolved contract of one model against one spec."""

    task: Task
    layout: Layout
    inputs: tuple[InputBinding, ...]
    columns: tuple[ColumnRule, ...]
    output: str
    output_kind: OutputKind
    classes: tuple[str, ...]
    graph_classes: tuple[str, ...] | None

    @property
    def classifier(self) -> bool:
        return self.task != "regression"

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.columns)

    def rule(self, name: str) -> ColumnRule:
        return next(rule for rule in self.columns if rule.name == name)


class ContractError(Exception):
    """The model and the spec disagree; `findings` locate each problem in the spec."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(message for _, message in self.findings))


def resolve(signature: GraphSignature, columns: Sequence[ColumnRule], task: Task, *,
            labels: Sequence[str] | None = None, output: str | None = None,
            artifact: str = "the model") -> ModelContract:
    """The contract of `signature` for these feature columns; ContractError lists every problem."""
    findings: list[Finding] = []
    layout, inputs = _bind_inputs(signature, list(columns), artifact, findings)
    chosen, kind = _choose_output(signature, task, output, artifact, findings)
    classes = _classes(signature, task, labels, chosen, findings)
    if findings:
        raise ContractError(findings)
    assert chosen is not None and kind is not None
    return ModelContract(task, layout, tuple(inputs), tuple(columns), chosen.name, kind, classes,
                         signature.class_labels)


# --- inputs -----------------------------------------------------------------------------------


def _bind_inputs(signature: GraphSignature, columns: list[ColumnRule], artifact: str,
                 findings: list[Finding]) -> tuple[Layout, list[InputBinding]]:
    names = [rule.name for rule in columns]
    graph = list(signature.inputs)
    if not graph:
        findings.append((("model", "artifact"), f"{artifact} has no inputs"))
        return "columns", []
    if len(graph) == 1 and (len(columns) > 1 or graph[0].name not in names):
        return "matrix", _bind_matrix(graph[0], columns, artifact, findings)
    bindings = []
    known = set(names)
    for value in graph:
        if value.name not in known:
            findings.append((("data", "schema"), _missing_column(value, names, artifact)))
            continue
        binding = _bind_column(value, next(r for r in columns if r.name == value.name),
                               artifact, findings)
        if binding is not None:
            bindings.append(binding)
    taken = {value.name for value in graph}
    inputs = ", ".join(value.name for value in graph)
    for rule in columns:
        if rule.name not in taken:
            findings.append((("data", "schema", rule.name),
                             f"column '{rule.name}' is not an input of {artifact} (its inputs: "
                             f"{inputs}); remove it from data.schema or export the model with it"))
    return "columns", bindings


def _bind_matrix(value: ValueInfo, columns: list[ColumnRule], artifact: str,
                 findings: list[Finding]) -> list[InputBinding]:
    kind = value.type
    where = f"{artifact} takes one input '{value.name}' ({kind.describe()})"
    if kind.kind != "tensor" or kind.shape is None or len(kind.shape) != 2:
        findings.append((("model", "artifact"), f"{where}; expected [batch, n_features] for all "
                         f"{len(columns)} features, or one input per column named as the column"))
        return []
    element = kind.element or "?"
    if element not in FLOAT_ELEMENTS | INTEGER_ELEMENTS | {"bool"}:
        findings.append((("model", "artifact"), f"{where}; a single input must be numeric, or "
                         "export one input per column"))
        return []
    width = kind.shape[1]
    if isinstance(width, int) and width != len(columns):
        findings.append((("data", "schema"), f"{where}: {width} features, but data.schema "
                         f"declares {len(columns)} (every column but the target, in input order)"))
    for rule in columns:
        if element not in ACCEPTS[rule.dtype]:
            findings.append((("data", "schema", rule.name, "dtype"),
                             f"dtype {rule.dtype} cannot feed {where}; a {rule.dtype} column "
                             "needs one input per column (string tensors)"
                             if rule.text else f"dtype {rule.dtype} cannot feed {where}"))
        elif rule.nullable and element not in FLOAT_ELEMENTS:
            findings.append((("data", "schema", rule.name, "nullable"),
                             f"nullable, but {where}, which cannot hold a missing value"))
    return [InputBinding(value.name, element, tuple(rule.name for rule in columns), 2)]


def _bind_column(value: ValueInfo, rule: ColumnRule, artifact: str,
                 findings: list[Finding]) -> InputBinding | None:
    kind = value.type
    where = f"{artifact}'s input '{value.name}' is {kind.describe()}"
    shape = kind.shape or (None,)
    if kind.kind != "tensor" or len(shape) not in (1, 2) or (
            len(shape) == 2 and not _is_one(shape[1])):
        findings.append((("data", "schema", rule.name),
                         f"{where}; a column's input must be [batch, 1] or [batch]"))
        return None
    element = kind.element or "?"
    if element not in ACCEPTS[rule.dtype]:
        fits = [dtype for dtype, elements in ACCEPTS.items() if element in elements]
        hint = f"declare it {' or '.join(fits)}" if fits else "this input type is not supported"
        findings.append((("data", "schema", rule.name, "dtype"),
                         f"dtype {rule.dtype}, but {where}; {hint}"))
        return None
    if rule.nullable and element not in FLOAT_ELEMENTS | {"string"}:
        findings.append((("data", "schema", rule.name, "nullable"),
                         f"nullable, but {where}, which cannot hold a missing value; make the "
                         "column non-nullable or export a float input"))
    return InputBinding(value.name, element, (rule.name,), len(shape))


def _is_one(dim: Dim) -> bool:
    return dim == 1 or not isinstance(dim, int)


def _missing_column(value: ValueInfo, names: list[str], artifact: str) -> str:
    close = difflib.get_close_matches(value.name, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (f"{artifact} needs input '{value.name}' ({value.type.describe()}), which is not a "
            f"column of data.schema{hint}")


# --- outputs ----------------------------------------------------------------------------------


def _output_kind(value: ValueInfo, task: Task) -> OutputKind | None:
    """How an output could carry the answer for `task`, or None if it cannot."""
    kind = value.type
    if kind.kind == "sequence" and kind.inner is not None and kind.inner.kind == "map":
        inner = kind.inner.inner
        floats = inner is not None and (inner.element in FLOAT_ELEMENTS or inner.kind == "other")
        return "zipmap" if task != "regression" and floats else None
    if kind.kind != "tensor" or kind.element not in FLOAT_ELEMENTS:
        return None
    shape = kind.shape or ()
    narrow = len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)
    if task == "regression":
        return "value" if narrow else None
    if len(shape) == 2 and not narrow:
        return "probabilities"
    return "score" if task == "binary_classification" and narrow else None


def _choose_output(signature: GraphSignature, task: Task, name: str | None, artifact: str,
                   findings: list[Finding]) -> tuple[ValueInfo | None, OutputKind | None]:
    outputs = signature.outputs
    listed = ", ".join(f"{o.name} ({o.type.describe()})" for o in outputs)
    wanted = "class probabilities" if task != "regression" else "the predicted value"
    if name is not None:
        found = next((o for o in outputs if o.name == name), None)
        if found is None:
            findings.append((("model", "output"), f"{artifact} has no output '{name}' (its "
                             f"outputs: {listed})"))
            return None, None
        kind = _output_kind(found, task)
        if kind is None:
            findings.append((("model", "output"), f"output '{name}' is {found.type.describe()}; "
                             f"it cannot carry {wanted} for a {task} model"))
        return found, kind
    candidates = [(o, k) for o in outputs if (k := _output_kind(o, task)) is not None]
    if len(candidates) > 1:
        named = [c for c in candidates if PROBABILITY_HINT in c[0].name.lower()]
        strong = [c for c in candidates if c[1] in ("probabilities", "zipmap")]
        candidates = named if len(named) == 1 else strong if len(strong) == 1 else candidates
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        expected = ("a float [batch, classes] tensor, a single score, or a ZipMap"
                    if task != "regression" else "a float [batch] or [batch, 1] tensor")
        findings.append((("model", "artifact"), f"{artifact} has no output that can carry "
                         f"{wanted} ({expected}); its outputs: {listed}"))
    else:
        names = ", ".join(o.name for o, _ in candidates)
        findings.append((("model", "output"), f"{artifact} has several outputs that could carry "
                         f"{wanted} ({names}); name one in model.output"))
    return None, None


def _classes(signature: GraphSignature, task: Task, labels: Sequence[str] | None,
             chosen: ValueInfo | None, findings: list[Finding]) -> tuple[str, ...]:
    """Class names in output order: model.labels, else the graph's own, else none (indices)."""
    if task == "regression":
        return ()
    graph = signature.class_labels
    if labels and graph and len(labels) != len(graph):
        findings.append((("model", "labels"), f"model.labels names {len(labels)} classes but the "
                         f"model declares {len(graph)} ({', '.join(graph)})"))
    elif labels and graph and not _integers(graph) and list(labels) != list(graph):
        findings.append((("model", "labels"), f"model.labels [{', '.join(labels)}] differ from "
                         f"the classes the model declares, in output order: [{', '.join(graph)}]"))
    classes = tuple(labels) if labels else graph or ()
    width = _width(chosen.type) if chosen is not None else None
    if classes and width is not None and width not in (1, len(classes)):
        findings.append((("model", "labels"), f"{len(classes)} classes, but output "
                         f"'{chosen.name if chosen else ''}' has {width} columns"))
    count = len(classes) if classes else width if width and width > 1 else None
    if task == "binary_classification" and count not in (None, 2):
        findings.append((("model", "task"), f"binary_classification, but the model has {count} "
                         "classes; use multiclass_classification"))
    return classes


def _integers(values: Sequence[str]) -> bool:
    return all(value.lstrip("-").isdigit() for value in values)


def _width(kind: ValueType) -> int | None:
    if kind.kind == "tensor" and kind.shape is not None and len(kind.shape) == 2:
        width = kind.shape[1]
        return width if isinstance(width, int) else None
    return None
