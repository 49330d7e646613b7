"""The model side of `mlops init`: which columns the ONNX graph takes, in which dtype, what it
predicts and which output answers, decided from the graph and the data's facts.

The graph's inputs choose the layout as the model contract does (`core.contract`): one numeric
[batch, n_features] input takes every column but the target, in the file's order; otherwise each
input is named as the column it takes, and data columns no input takes are left out of the schema.
An input's element type refines the column's dtype (a string input makes the column `str`, even
of digits) and refuses data it cannot take, with the first offending value located. The task
comes from `--task`, else from the target and the graph (declared classes or a probability output
make a classifier); the labels from the graph's class labels, else the target's values. The
decision is then checked by the contract itself, so what `init` writes is what `validate` accepts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlops.core.contract import (
    FLOAT_ELEMENTS,
    INTEGER_ELEMENTS,
    ColumnRule,
    ColumnType,
    ContractError,
    Layout,
    ModelContract,
    Task,
    resolve,
)
from mlops.core.errors import MlopsError
from mlops.core.onnx_graph import GraphSignature, ValueInfo

from .facts import ColumnFacts
from .profile import MAX_ALLOWED


@dataclass(frozen=True)
class Sources:
    """How the user named the files, for messages."""

    model: str
    data: str
    """The training file (whose header is line 1 of `data`)."""
    data_format: str


@dataclass(frozen=True)
class Binding:
    """Everything the spec says about the model, and why (for the comments)."""

    layout: Layout
    features: tuple[str, ...]
    dtypes: dict[str, ColumnType]
    """Every feature's and the target's dtype."""
    left_out: tuple[str, ...]
    """Data columns no graph input takes (one input per column only)."""
    task: Task
    task_reason: str
    output: str | None
    """model.output, written when the graph has several outputs."""
    other_outputs: tuple[str, ...]
    labels: tuple[str, ...] | None
    labels_reason: str
    contract: ModelContract


def bind(signature: GraphSignature, facts: Mapping[str, ColumnFacts], header: Sequence[str],
         target: str, task: Task | None, sources: Sources) -> Binding:
    """The binding of the graph to the data; MlopsError locates anything that cannot fit."""
    inputs = list(signature.inputs)
    if not inputs:
        raise MlopsError(f"{sources.model}: the graph has no inputs")
    candidates = [name for name in header if name != target]
    single = inputs[0]
    if len(inputs) == 1 and (single.name not in header or _width(single) not in (None, 1)):
        layout: Layout = "matrix"
        features = tuple(candidates)
        dtypes = _matrix_dtypes(single, [facts[name] for name in features], sources)
    else:
        layout = "columns"
        features = tuple(value.name for value in inputs)
        dtypes = {value.name: _column_dtype(value, _needed(value, header, target, sources),
                                            facts, sources) for value in inputs}
    rules = [ColumnRule(name, dtypes[name], facts[name].nullable) for name in features]
    chosen, task_reason = _task(signature, rules, facts[target], task, sources)
    output = _output(signature, rules, chosen)
    target_dtype, labels, labels_reason = _labels(signature, facts[target], chosen, output, sources)
    dtypes[target] = target_dtype
    contract = _resolve(signature, rules, chosen, labels, output, sources)
    return Binding(layout, features, dtypes,
                   tuple(name for name in candidates if name not in features), chosen, task_reason,
                   contract.output if len(signature.outputs) > 1 else None,
                   tuple(o.name for o in signature.outputs if o.name != contract.output),
                   labels, labels_reason, contract)


# --- inputs -----------------------------------------------------------------------------------


def _width(value: ValueInfo) -> int | str | None:
    shape = value.type.shape
    return shape[1] if shape is not None and len(shape) == 2 else None


def _needed(value: ValueInfo, header: Sequence[str], target: str, sources: Sources) -> str:
    """The column an input of a one-input-per-column graph takes; located error if there is none."""
    if value.name == target:
        raise MlopsError(f"{sources.model}: the graph takes the target '{target}' as input "
                         f"'{value.name}'; a model's inputs are its features")
    if value.name not in header:
        close = difflib.get_close_matches(value.name, [c for c in header if c != target], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise MlopsError(f"{sources.data}:1: {sources.model} needs a column '{value.name}' "
                         f"(input {value.type.describe()}), which the header lacks{hint}; its "
                         f"columns: {', '.join(header)}")
    return value.name


def _matrix_dtypes(value: ValueInfo, columns: Sequence[ColumnFacts],
                   sources: Sources) -> dict[str, ColumnType]:
    """Every feature of a one-tensor model: numbers that its element type can hold."""
    element = value.type.element or "?"
    where = f"{sources.model} takes one input '{value.name}' ({value.type.describe()})"
    width = _width(value)
    if isinstance(width, int) and width != len(columns):
        raise MlopsError(f"{where}: {width} features, but {sources.data} has {len(columns)} "
                         "columns besides the target; remove the columns the model does not take "
                         "from the file, or export one input per column")
    dtypes: dict[str, ColumnType] = {}
    for column in columns:
        dtypes[column.name] = _numeric_dtype(column, element, where, sources)
    return dtypes


def _column_dtype(value: ValueInfo, name: str, facts: Mapping[str, ColumnFacts],
                  sources: Sources) -> ColumnType:
    element = value.type.element or "?"
    where = f"{sources.model}'s input '{value.name}' is {value.type.describe()}"
    column = facts[name]
    if element == "string":
        if sources.data_format == "parquet" and column.kind not in ("str", "null"):
            raise MlopsError(f"column '{name}' is {', '.join(column.declared)} in the Parquet "
                             f"data, but {where}; write it as a string column")
        return "str"
    if element == "bool" and column.kind == "int" and _flags(column) and sources.data_format == "csv":
        return "bool"
    return _numeric_dtype(column, element, where, sources)


def _numeric_dtype(column: ColumnFacts, element: str, where: str, sources: Sources) -> ColumnType:
    """The dtype of a column fed to a numeric input, or a located error when it cannot be."""
    name = column.name
    if column.kind in ("str", "other"):
        found = (f"text ({column.not_number.describe()})" if column.not_number is not None
                 else f"values of type {', '.join(column.declared)}" if column.declared
                 else "text")
        raise MlopsError(f"column '{name}' holds {found}, but {where}; a text column needs a "
                         "string input (export one input per column)")
    if element in INTEGER_ELEMENTS | {"bool"}:
        if column.kind == "float":
            found = column.not_integer.describe() if column.not_integer else "non-integer numbers"
            raise MlopsError(f"column '{name}' holds non-integer numbers ({found}), but {where}")
        if column.first_null is not None:
            raise MlopsError(f"column '{name}' has nulls (the first at {column.first_null}), but "
                             f"{where}, which cannot hold a missing value")
        if element == "bool" and column.kind != "bool":
            raise MlopsError(f"column '{name}' holds numbers, but {where}; write it as "
                             "true/false")
    elif element not in FLOAT_ELEMENTS:
        return "float"  # not a type the contract supports: it says so, with the input's name
    if column.kind == "bool":
        return "bool"
    return "int" if column.kind == "int" else "float"


def _flags(column: ColumnFacts) -> bool:
    return column.counts is not None and set(column.counts) <= {"0", "1"}


# --- task, labels, output ---------------------------------------------------------------------


def _task(signature: GraphSignature, rules: Sequence[ColumnRule], target: ColumnFacts,
          task: Task | None, sources: Sources) -> tuple[Task, str]:
    classes = _class_count(signature, target)
    if task is not None:
        if task != "regression" and target.kind == "float":
            found = target.not_integer.describe() if target.not_integer else "fractions"
            raise MlopsError(f"--task {task}: the target '{target.name}' holds non-integer "
                             f"numbers ({found}); a classifier's target holds classes")
        return task, "--task"
    if target.kind in ("null", "other"):
        raise MlopsError(f"{sources.data}: the target '{target.name}' has no values this tool "
                         "can read")
    if target.kind == "float":
        return "regression", "the target holds non-integer numbers"
    probabilities = _probability_outputs(signature, rules)
    if target.kind == "int" and not signature.class_labels and not probabilities and not (
            target.counts is not None and set(target.counts) <= {"0", "1"}):
        return "regression", ("the target holds integers and the graph declares no classes and "
                              "no probability output")
    if classes == 2:
        return "binary_classification", _why_classes(signature, target, classes)
    return "multiclass_classification", _why_classes(signature, target, classes)


def _class_count(signature: GraphSignature, target: ColumnFacts) -> int | None:
    if signature.class_labels:
        return len(signature.class_labels)
    if target.counts is not None:
        return len(target.counts)
    return None


def _why_classes(signature: GraphSignature, target: ColumnFacts, classes: int | None) -> str:
    if signature.class_labels:
        return f"the graph declares {classes} classes"
    if classes is not None:
        return f"the target has {classes} distinct values"
    return f"the target has more than {MAX_ALLOWED} distinct values and the graph gives probabilities"


def _probability_outputs(signature: GraphSignature, rules: Sequence[ColumnRule]) -> list[str]:
    """Outputs that can carry class probabilities (a [batch, classes] tensor or a ZipMap)."""
    return [value.name for value in signature.outputs
            if _fits(signature, rules, "multiclass_classification", value.name)]


def _fits(signature: GraphSignature, rules: Sequence[ColumnRule], task: Task, output: str) -> bool:
    """Whether `output` can answer for `task` (the contract's own judgement; the inputs, already
    checked, aside)."""
    try:
        resolve(signature, rules, task, output=output)
    except ContractError as error:
        return not any(path[0] == "model" for path, _ in error.findings)
    return True


def _labels(signature: GraphSignature, target: ColumnFacts, task: Task, output: str | None,
            sources: Sources) -> tuple[ColumnType, tuple[str, ...] | None, str]:
    """The target's dtype and model.labels (None: the target holds output indices)."""
    if task == "regression":
        return ("int" if target.kind == "int" else "float"), None, ""
    declared = signature.class_labels
    if target.kind == "bool":
        return "bool", None, "false is class 0, true class 1"
    values = sorted(target.counts) if target.counts is not None else None
    if target.kind == "int" and values is not None:
        integers = sorted(int(value) for value in values)
        if declared is None or _indices(declared):
            count = len(declared) if declared else _output_width(signature, output) or (
                max(integers) + 1)
            if integers[0] >= 0 and integers[-1] < count:
                return "int", None, "the target holds the class indices 0..n-1"
        values = [str(value) for value in integers]
    if declared is not None:
        missing = [value for value in values or [] if value not in declared]
        if missing:
            raise MlopsError(f"{sources.data}: the target '{target.name}' has value(s) "
                             f"{', '.join(missing[:5])} that {sources.model} does not declare "
                             f"(its classes, in output order: {', '.join(declared)})")
        return "str", declared, "the classes the graph declares, in its output order"
    if values is None:
        raise MlopsError(f"{sources.data}: the target '{target.name}' has more than "
                         f"{MAX_ALLOWED} distinct values and {sources.model} declares no class "
                         "labels; pass --task regression if it predicts a number")
    return "str", tuple(values), "the target's values in sorted order, as scikit-learn orders classes"


def _indices(labels: Sequence[str]) -> bool:
    return [label.lstrip("-").isdigit() and int(label) for label in labels] == list(range(len(labels)))


def _output_width(signature: GraphSignature, output: str | None) -> int | None:
    found = next((value for value in signature.outputs if value.name == output), None)
    width = _width(found) if found is not None else None
    return width if isinstance(width, int) and width > 1 else None


def _output(signature: GraphSignature, rules: Sequence[ColumnRule], task: Task) -> str | None:
    """The output that answers: the only one that can, else one named like probabilities, else
    the first; None when none can (the contract's error says why)."""
    fitting = [value.name for value in signature.outputs if _fits(signature, rules, task, value.name)]
    if not fitting:
        return None
    named = [name for name in fitting if "prob" in name.lower()]
    return (named or fitting)[0]


def _resolve(signature: GraphSignature, rules: Sequence[ColumnRule], task: Task,
             labels: Sequence[str] | None, output: str | None, sources: Sources) -> ModelContract:
    try:
        return resolve(signature, rules, task, labels=labels, output=output, artifact=sources.model)
    except ContractError as error:
        raise MlopsError("; ".join(message for _, message in error.findings)) from None
