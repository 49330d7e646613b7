"""The pure-Python signature reader agrees with onnx's own parser on real exported models."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from mlops.core.onnx_graph import GraphError, read_signature

from .onnx_models import column_pipeline, matrix_classifier, matrix_regressor

ROOT = Path(__file__).resolve().parents[2]
TYPES = {1: "float", 6: "int32", 7: "int64", 8: "string", 9: "bool", 11: "double"}


def _reference(data: bytes) -> tuple[list[tuple[str, str | None, tuple[object, ...]]], list[str]]:
    """(name, element, shape) of each real input and the output names, as onnx reads them."""
    model = onnx.load_from_string(data)
    weights = {tensor.name for tensor in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                      for d in tensor.shape.dim)
        inputs.append((value.name, TYPES.get(tensor.elem_type), shape))
    return inputs, [value.name for value in model.graph.output]


@pytest.mark.parametrize("data", [
    pytest.param((ROOT / "models" / "model.onnx").read_bytes(), id="breast-cancer sklearn"),
    pytest.param((ROOT / "examples" / "digits" / "models" / "model.onnx").read_bytes(),
                 id="digits torch dynamo"),
    pytest.param(column_pipeline(), id="column pipeline"),
    pytest.param(column_pipeline(zipmap=True), id="column pipeline zipmap"),
    pytest.param(matrix_regressor(), id="regressor"),
])
def test_inputs_and_outputs_match_onnx(data: bytes) -> None:
    signature = read_signature(data)
    inputs, outputs = _reference(data)
    assert [(i.name, i.type.element, i.type.shape) for i in signature.inputs] == inputs
    assert [o.name for o in signature.outputs] == outputs


def test_types_and_class_labels_of_a_column_pipeline() -> None:
    signature = read_signature(column_pipeline(zipmap=True))
    assert [i.type.describe() for i in signature.inputs] == [
        "string [?, 1]", "float [?, 1]", "int64 [?, 1]"]
    assert [o.type.describe() for o in signature.outputs] == [
        "string [?]", "sequence of map(string -> float)"]
    assert signature.class_labels == ("no", "yes")
    assert signature.producer == "skl2onnx"


def test_integer_class_labels_and_symbolic_batch() -> None:
    assert read_signature(matrix_classifier()).class_labels == ("0", "1")
    digits = read_signature(ROOT / "examples" / "digits" / "models" / "model.onnx")
    assert digits.inputs[0].type.shape == ("batch", 64)
    assert digits.class_labels is None


def test_weights_listed_as_inputs_are_not_inputs() -> None:
    model = onnx.load_from_string(matrix_classifier())
    for tensor in model.graph.initializer:  # IR < 4 exporters list every weight among the inputs
        model.graph.input.append(onnx.helper.make_tensor_value_info(
            tensor.name, tensor.data_type, list(tensor.dims)))
    assert [i.name for i in read_signature(model.SerializeToString()).inputs] == ["X"]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "not a valid ONNX model (no graph)"),
    (b"\x3a\x05abc", "not a valid ONNX model (field 7 runs past the end of its message)"),
    (b"\xff" * 12, "not a valid ONNX model (varint longer than 10 bytes)"),
    (b"\x0f", "not a valid ONNX model (unsupported wire type 7 in field 1)"),
])
def test_damaged_files_are_a_graph_error(data: bytes, message: str) -> None:
    with pytest.raises(GraphError) as raised:
        read_signature(data)
    assert str(raised.value) == message


def test_a_missing_file_is_a_graph_error(tmp_path: Path) -> None:
    with pytest.raises(GraphError) as raised:
        read_signature(tmp_path / "model.onnx")
    assert str(raised.value) == f"cannot read {tmp_path / 'model.onnx'}: No such file or directory"
