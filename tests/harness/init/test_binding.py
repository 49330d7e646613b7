"""Fitting an ONNX graph to the data's columns: layout, dtypes, task, labels and output, and the
located errors when the data cannot feed the graph. Graphs are hand-built signatures (only their
inputs, outputs and class labels matter here); the columns' facts are written out."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from onnx import TensorProto, helper

from mlops.core.contract import Task
from mlops.core.errors import MlopsError
from mlops.core.onnx_graph import GraphSignature, read_signature
from mlops.harness.init.binding import Binding, Sources, bind
from mlops.harness.init.facts import ColumnFacts, Located
from mlops.harness.init.profile import Kind

SOURCES = Sources("model.onnx", "train.csv", "csv")
Value = tuple[str, int, Sequence[int | str | None]]


def graph(inputs: Sequence[Value], outputs: Sequence[Value],
          labels: Sequence[str] | None = None) -> GraphSignature:
    nodes = []
    if labels is not None:
        nodes.append(helper.make_node("ZipMap", [outputs[-1][0]], ["zipped"], domain="ai.onnx.ml",
                                      classlabels_strings=list(labels)))
    model = helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(*value) for value in inputs],
        [helper.make_tensor_value_info(*value) for value in outputs]))
    return read_signature(model.SerializeToString())


def facts(name: str, kind: Kind, *, nulls: int = 0, counts: Sequence[str] | None = None,
          not_integer: str = "", not_number: str = "") -> ColumnFacts:
    return ColumnFacts(
        name, kind, nulls, "train.csv:9" if nulls else None, 0, 1, False, False,
        {value: 1 for value in counts} if counts is not None else None,
        Located("train.csv:7", not_integer) if not_integer else None,
        Located("train.csv:7", not_number) if not_number else None, ())


def run(signature: GraphSignature, columns: Sequence[ColumnFacts], target: str,
        task: Task | None = None) -> Binding:
    return bind(signature, {c.name: c for c in columns}, [c.name for c in columns], target, task,
                SOURCES)


FLOAT = TensorProto.FLOAT
PROBABILITIES: Value = ("probabilities", FLOAT, [None, 2])
MATRIX = [("X", FLOAT, [None, 3])]
NUMBERS = [facts("a", "float"), facts("b", "int"), facts("c", "bool")]
BINARY = facts("label", "int", counts=["0", "1"])


def test_one_numeric_input_takes_every_column_but_the_target() -> None:
    found = run(graph(MATRIX, [PROBABILITIES]), [*NUMBERS, BINARY], "label")
    assert (found.layout, found.features, found.left_out) == ("matrix", ("a", "b", "c"), ())
    assert found.dtypes == {"a": "float", "b": "int", "c": "bool", "label": "int"}
    assert (found.task, found.task_reason) == ("binary_classification",
                                               "the target has 2 distinct values")
    assert (found.labels, found.output, found.other_outputs) == (None, None, ())


@pytest.mark.parametrize(("columns", "message"), [
    ([*NUMBERS, facts("d", "float"), BINARY],
     "model.onnx takes one input 'X' (float [?, 3]): 3 features, but train.csv has 4 columns "
     "besides the target; remove the columns the model does not take from the file, or export one "
     "input per column"),
    ([facts("a", "float"), facts("b", "str", not_number="abc"), facts("c", "int"), BINARY],
     "column 'b' holds text ('abc' at train.csv:7), but model.onnx takes one input 'X' "
     "(float [?, 3]); a text column needs a string input (export one input per column)"),
])
def test_a_matrix_input_refuses_what_it_cannot_take(columns: list[ColumnFacts], message: str) -> None:
    with pytest.raises(MlopsError) as raised:
        run(graph(MATRIX, [PROBABILITIES]), columns, "label")
    assert str(raised.value) == message


PIPELINE = [("plan", TensorProto.STRING, [None, 1]), ("code", TensorProto.STRING, [None, 1]),
            ("n", TensorProto.INT64, [None, 1]), ("x", FLOAT, [None, 1])]
PIPELINE_OUTPUTS: list[Value] = [("label", TensorProto.STRING, [None]), PROBABILITIES]
CHURN = facts("y", "str", counts=["no", "yes"])


def pipeline_columns(**changed: ColumnFacts) -> list[ColumnFacts]:
    columns = {"id": facts("id", "int"), "plan": facts("plan", "str", nulls=3),
               "code": facts("code", "int", counts=["1", "2"]), "n": facts("n", "int"),
               "x": facts("x", "float", nulls=1), "y": CHURN}
    return list({**columns, **changed}.values())


def test_one_input_per_column_types_each_column_by_its_input() -> None:
    found = run(graph(PIPELINE, PIPELINE_OUTPUTS, labels=["no", "yes"]), pipeline_columns(), "y")
    assert (found.layout, found.features, found.left_out) == ("columns", ("plan", "code", "n", "x"),
                                                              ("id",))
    assert found.dtypes == {"plan": "str", "code": "str", "n": "int", "x": "float", "y": "str"}
    assert (found.task, found.task_reason) == ("binary_classification", "the graph declares 2 classes")
    assert (found.labels, found.labels_reason) == (("no", "yes"), "the classes the graph declares, "
                                                                  "in its output order")
    assert (found.output, found.other_outputs) == ("probabilities", ("label",))


@pytest.mark.parametrize(("columns", "message"), [
    (pipeline_columns(n=facts("count", "int")),
     "train.csv:1: model.onnx needs a column 'n' (input int64 [?, 1]), which the header lacks; its "
     "columns: id, plan, code, count, x, y"),
    (pipeline_columns(n=facts("nn", "int")),
     "train.csv:1: model.onnx needs a column 'n' (input int64 [?, 1]), which the header lacks (did "
     "you mean 'nn'?); its columns: id, plan, code, nn, x, y"),
    (pipeline_columns(n=facts("n", "int", nulls=2)),
     "column 'n' has nulls (the first at train.csv:9), but model.onnx's input 'n' is int64 [?, 1], "
     "which cannot hold a missing value"),
    (pipeline_columns(n=facts("n", "float", not_integer="2.5")),
     "column 'n' holds non-integer numbers ('2.5' at train.csv:7), but model.onnx's input 'n' is "
     "int64 [?, 1]"),
    (pipeline_columns(x=facts("x", "str", not_number="n/a ")),
     "column 'x' holds text ('n/a ' at train.csv:7), but model.onnx's input 'x' is float [?, 1]; a "
     "text column needs a string input (export one input per column)"),
    (pipeline_columns(y=facts("y", "str", counts=["no", "maybe"])),
     "train.csv: the target 'y' has value(s) maybe that model.onnx does not declare (its classes, "
     "in output order: no, yes)"),
])
def test_a_column_the_graph_cannot_take_is_located(columns: list[ColumnFacts], message: str) -> None:
    with pytest.raises(MlopsError) as raised:
        run(graph(PIPELINE, PIPELINE_OUTPUTS, labels=["no", "yes"]), columns, "y")
    assert str(raised.value) == message


def test_integer_classes_that_are_not_output_indices_become_labels() -> None:
    """A target of 1, 2, 3 for three probability columns: text labels in numeric order."""
    target = facts("grade", "int", counts=["1", "3", "2"])
    found = run(graph(MATRIX, [("probabilities", FLOAT, [None, 3])]), [*NUMBERS, target], "grade")
    assert (found.task, found.dtypes["grade"], found.labels) == (
        "multiclass_classification", "str", ("1", "2", "3"))


def test_a_numeric_target_without_classes_is_regressed() -> None:
    value = [("variable", FLOAT, [None, 1])]
    fractional = run(graph(MATRIX, value), [*NUMBERS, facts("price", "float")], "price")
    assert (fractional.task, fractional.dtypes["price"], fractional.labels) == (
        "regression", "float", None)
    counts = run(graph(MATRIX, value), [*NUMBERS, facts("visits", "int")], "visits")
    assert (counts.task, counts.task_reason) == ("regression", "the target holds integers and the "
                                                 "graph declares no classes and no probability output")


def test_the_task_flag_is_checked_against_the_target() -> None:
    with pytest.raises(MlopsError) as raised:
        run(graph(MATRIX, [PROBABILITIES]), [*NUMBERS, facts("p", "float", not_integer="0.5")], "p",
            "binary_classification")
    assert str(raised.value) == ("--task binary_classification: the target 'p' holds non-integer "
                                 "numbers ('0.5' at train.csv:7); a classifier's target holds classes")


def test_of_several_probability_outputs_the_one_named_so_answers() -> None:
    outputs: list[Value] = [("scores", FLOAT, [None, 2]), PROBABILITIES]
    found = run(graph(MATRIX, outputs), [*NUMBERS, BINARY], "label")
    assert (found.output, found.other_outputs) == ("probabilities", ("scores",))
