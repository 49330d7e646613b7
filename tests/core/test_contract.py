"""The contract: which graph inputs take which columns, which output answers, and every mismatch
as a located finding."""

from __future__ import annotations

import pytest

from mlops.core.contract import ColumnRule, ContractError, ModelContract, Task, resolve
from mlops.core.onnx_graph import GraphSignature, ValueInfo, ValueType, read_signature

from .onnx_models import column_pipeline, matrix_classifier, matrix_regressor

CHURN = [ColumnRule("plan", "str", nullable=True), ColumnRule("age", "float", nullable=True),
         ColumnRule("calls", "int")]


def tensor(name: str, element: str, *shape: int | str | None) -> ValueInfo:
    return ValueInfo(name, ValueType("tensor", element, tuple(shape)))


def graph(inputs: list[ValueInfo], outputs: list[ValueInfo],
          labels: tuple[str, ...] | None = None) -> GraphSignature:
    return GraphSignature(tuple(inputs), tuple(outputs), labels)


def findings(signature: GraphSignature, columns: list[ColumnRule], task: Task = "binary_classification",
             **options: object) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ContractError) as raised:
        resolve(signature, columns, task, artifact="model.onnx", **options)  # type: ignore[arg-type]
    return raised.value.findings


PROBABILITIES = tensor("probabilities", "float", None, 2)


def test_a_column_pipeline_binds_one_input_per_column() -> None:
    contract = resolve(read_signature(column_pipeline()), CHURN, "binary_classification")
    assert contract.layout == "columns"
    assert [(b.name, b.element, b.columns, b.rank) for b in contract.inputs] == [
        ("plan", "string", ("plan",), 2), ("age", "float", ("age",), 2),
        ("calls", "int64", ("calls",), 2)]
    assert (contract.output, contract.output_kind, contract.classes) == (
        "probabilities", "probabilities", ("no", "yes"))


def test_zipmap_output_is_the_answer_of_a_default_skl2onnx_export() -> None:
    contract = resolve(read_signature(column_pipeline(zipmap=True)), CHURN, "binary_classification")
    assert (contract.output, contract.output_kind) == ("output_probability", "zipmap")


def test_one_numeric_input_takes_every_feature_in_order() -> None:
    columns = [ColumnRule(name, "float") for name in ("a", "b", "c")]
    contract: ModelContract = resolve(read_signature(matrix_classifier()), columns,
                                      "binary_classification", labels=["neg", "pos"])
    assert contract.layout == "matrix"
    assert contract.inputs[0].columns == ("a", "b", "c")
    assert contract.classes == ("neg", "pos")  # names for the graph's integer classes


def test_regression_reads_the_value_output() -> None:
    columns = [ColumnRule("x", "float"), ColumnRule("y", "float")]
    contract = resolve(read_signature(matrix_regressor()), columns, "regression")
    assert (contract.output, contract.output_kind, contract.classes) == ("variable", "value", ())


def test_missing_extra_and_mistyped_columns_are_located() -> None:
    signature = graph([tensor("plan", "string", None, 1), tensor("region", "string", None, 1),
                       tensor("calls", "int64", None, 1)], [PROBABILITIES])
    columns = [ColumnRule("plan", "float"), ColumnRule("regoin", "str"),
               ColumnRule("calls", "int", nullable=True)]
    assert findings(signature, columns) == [
        (("data", "schema", "plan", "dtype"),
         "dtype float, but model.onnx's input 'plan' is string [?, 1]; declare it str or category"),
        (("data", "schema"), "model.onnx needs input 'region' (string [?, 1]), which is not a "
                             "column of data.schema (did you mean 'regoin'?)"),
        (("data", "schema", "calls", "nullable"),
         "nullable, but model.onnx's input 'calls' is int64 [?, 1], which cannot hold a missing "
         "value; make the column non-nullable or export a float input"),
        (("data", "schema", "regoin"), "column 'regoin' is not an input of model.onnx (its "
                                       "inputs: plan, region, calls); remove it from data.schema "
                                       "or export the model with it"),
    ]


def test_a_matrix_of_the_wrong_width_or_with_text_columns() -> None:
    signature = graph([tensor("input", "float", "N", 4)], [PROBABILITIES])
    columns = [ColumnRule("a", "float"), ColumnRule("b", "str")]
    assert findings(signature, columns) == [
        (("data", "schema"), "model.onnx takes one input 'input' (float [N, 4]): 4 features, but "
                             "data.schema declares 2 (every column but the target, in input order)"),
        (("data", "schema", "b", "dtype"), "dtype str cannot feed model.onnx takes one input "
                                           "'input' (float [N, 4]); a str column needs one input "
                                           "per column (string tensors)"),
    ]


def test_several_candidate_outputs_need_model_output() -> None:
    signature = graph([tensor("x", "float", None, 1)],
                      [tensor("scores_a", "float", None, 3), tensor("scores_b", "float", None, 3)])
    columns = [ColumnRule("x", "float")]
    assert findings(signature, columns, "multiclass_classification") == [
        (("model", "output"), "model.onnx has several outputs that could carry class "
                              "probabilities (scores_a, scores_b); name one in model.output")]
    chosen = resolve(signature, columns, "multiclass_classification", output="scores_b")
    assert chosen.output == "scores_b"


def test_a_named_output_must_exist_and_fit() -> None:
    signature = graph([tensor("x", "float", None, 1)],
                      [tensor("label", "int64", None), PROBABILITIES])
    columns = [ColumnRule("x", "float")]
    assert findings(signature, columns, output="lable") == [
        (("model", "output"), "model.onnx has no output 'lable' (its outputs: label (int64 [?]), "
                              "probabilities (float [?, 2]))")]
    assert findings(signature, columns, output="label") == [
        (("model", "output"), "output 'label' is int64 [?]; it cannot carry class probabilities "
                              "for a binary_classification model")]


def test_labels_must_match_the_graphs_text_classes() -> None:
    signature = graph([tensor("x", "float", None, 1)], [PROBABILITIES], labels=("no", "yes"))
    columns = [ColumnRule("x", "float")]
    assert findings(signature, columns, labels=["yes", "no"]) == [
        (("model", "labels"), "model.labels [yes, no] differ from the classes the model declares, "
                              "in output order: [no, yes]")]
    assert resolve(signature, columns, "binary_classification").classes == ("no", "yes")


def test_a_binary_task_needs_two_classes() -> None:
    signature = graph([tensor("x", "float", None, 1)], [tensor("probabilities", "float", None, 3)])
    assert findings(signature, [ColumnRule("x", "float")]) == [
        (("model", "task"), "binary_classification, but the model has 3 classes; use "
                            "multiclass_classification")]


def test_a_single_score_is_a_binary_answer() -> None:
    signature = graph([tensor("x", "float", None, 1)], [tensor("score", "float", None, 1)])
    contract = resolve(signature, [ColumnRule("x", "float")], "binary_classification")
    assert contract.output_kind == "score"
