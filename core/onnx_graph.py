"""An ONNX file's signature (inputs, outputs, class labels) read without onnx or onnxruntime.

`mlops validate` checks the model contract whenever the artifact exists, and validate must stay
light (no numpy, no onnxruntime: a test guards its imports), so this reads the protobuf wire format
directly. Only what the contract needs is decoded: graph inputs and outputs with their types and
shapes, initializer names (old exporters list weights among the inputs), the class labels of
classifier and ZipMap nodes, and the model's metadata. Everything else is skipped by its length,
so a 100 MB tree ensemble costs one read and a walk over its top-level fields.

Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
ValueInfoProto, TypeProto, TensorShapeProto).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ELEMENT_TYPES = {
    1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16",
}
"""TensorProto.DataType -> the name onnxruntime prints inside `tensor(...)`."""
CLASSIFIER_OPS = ("ZipMap", "LinearClassifier", "TreeEnsembleClassifier", "SVMClassifier")
"""ai.onnx.ml nodes whose `classlabels_*` attributes name the classes in output order."""

Kind = Literal["tensor", "sequence", "map", "other"]
Dim = int | str | None
"""A dimension: a fixed size, a symbolic name ('N', 'batch') or unknown."""


class GraphError(Exception):
    """The file is not an ONNX model this reader can understand; the message says why."""


@dataclass(frozen=True)
class ValueType:
    """The type of a graph input or output: a tensor, or a sequence/map such as ZipMap's output."""

    kind: Kind
    element: str | None = None
    shape: tuple[Dim, ...] | None = None
    inner: ValueType | None = None
    key: str | None = None

    def describe(self) -> str:
        """'string [N, 1]', 'float [N, 2]', 'sequence of map(int64 -> float)'."""
        if self.kind == "tensor":
            dims = "?" if self.shape is None else ", ".join(
                "?" if d is None else str(d) for d in self.shape)
            return f"{self.element} [{dims}]"
        if self.kind == "map":
            inner = self.inner.describe() if self.inner else "?"
            return f"map({self.key} -> {inner.split(' [')[0]})"
        if self.kind == "sequence":
            return f"sequence of {self.inner.describe() if self.inner else '?'}"
        return "an unsupported type"


@dataclass(frozen=True)
class ValueInfo:
    name: str
    type: ValueType


@dataclass(frozen=True)
class GraphSignature:
    """What a model takes and gives, and the class labels its classifier node declares."""

    inputs: tuple[ValueInfo, ...]
    outputs: tuple[ValueInfo, ...]
    class_labels: tuple[str, ...] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    producer: str = ""


def read_signature(source: Path | bytes) -> GraphSignature:
    """The signature of an ONNX file (or its bytes); GraphError when it is not a valid model."""
    if isinstance(source, Path):
        try:
            data = source.read_bytes()
        except OSError as error:
            raise GraphError(f"cannot read {source}: {error.strerror}") from None
    else:
        data = source
    try:
        return _model(memoryview(data))
    except (IndexError, ValueError, UnicodeDecodeError) as error:
        raise GraphError(f"not a valid ONNX model ({error})") from None


# --- protobuf wire format ---------------------------------------------------------------------

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field of one message; lengths are bounds-checked."""
    position, end = 0, len(data)
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        value: int | memoryview
        if wire == _VARINT:
            value, position = _varint(data, position)
        elif wire == _LEN:
            size, position = _varint(data, position)
            if position + size > end:
                raise ValueError(f"field {number} runs past the end of its message")
            value, position = data[position:position + size], position + size
        elif wire == _I64:
            value, position = int.from_bytes(data[position:position + 8], "little"), position + 8
        elif wire == _I32:
            value, position = int.from_bytes(data[position:position + 4], "little"), position + 4
        else:
            raise ValueError(f"unsupported wire type {wire} in field {number}")
        if position > end:
            raise ValueError("truncated message")
        yield number, wire, value


def _text(value: int | memoryview) -> str:
    if isinstance(value, int):
        raise ValueError("expected a string field")
    return bytes(value).decode("utf-8")


def _message(value: int | memoryview) -> memoryview:
    if isinstance(value, int):
        raise ValueError("expected an embedded message")
    return value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _integers(wire: int, value: int | memoryview) -> list[int]:
    """A repeated int64: one unpacked value or a packed run of varints."""
    if isinstance(value, int):
        return [_signed(value)]
    result, position = [], 0
    while position < len(value):
        number, position = _varint(value, position)
        result.append(_signed(number))
    return result


# --- ONNX messages ----------------------------------------------------------------------------


def _model(data: memoryview) -> GraphSignature:
    graph: memoryview | None = None
    metadata: dict[str, str] = {}
    producer = ""
    for number, _, value in _fields(data):
        if number == 7:
            graph = _message(value)
        elif number == 2:
            producer = _text(value)
        elif number == 14:
            entry = {n: _text(v) for n, _, v in _fields(_message(value)) if n in (1, 2)}
            metadata[entry.get(1, "")] = entry.get(2, "")
    if graph is None:
        raise ValueError("no graph")
    return _graph(graph, metadata, producer)


def _graph(data: memoryview, metadata: dict[str, str], producer: str) -> GraphSignature:
    inputs: list[ValueInfo] = []
    outputs: list[ValueInfo] = []
    weights: set[str] = set()
    labels: tuple[str, ...] | None = None
    for number, _, value in _fields(data):
        if number == 11:
            inputs.append(_value_info(_message(value)))
        elif number == 12:
            outputs.append(_value_info(_message(value)))
        elif number == 5:
            weights.add(_tensor_name(_message(value)))
        elif number == 15:  # SparseTensorProto: its `values` tensor carries the name
            for inner, _, part in _fields(_message(value)):
                if inner == 1:
                    weights.add(_tensor_name(_message(part)))
        elif number == 1 and labels is None:
            labels = _class_labels(_message(value))
    if not outputs:
        raise ValueError("the graph has no outputs")
    return GraphSignature(tuple(i for i in inputs if i.name not in weights), tuple(outputs),
                          labels, metadata, producer)


def _tensor_name(data: memoryview) -> str:
    for number, _, value in _fields(data):
        if number == 8:
            return _text(value)
    return ""


def _value_info(data: memoryview) -> ValueInfo:
    name, kind = "", ValueType("other")
    for number, _, value in _fields(data):
        if number == 1:
            name = _text(value)
        elif number == 2:
            kind = _type(_message(value))
    return ValueInfo(name, kind)


def _type(data: memoryview) -> ValueType:
    for number, _, value in _fields(data):
        if number == 1:
            return _tensor_type(_message(value))
        if number == 4:
            inner = next((_type(_message(v)) for n, _, v in _fields(_message(value)) if n == 1),
                         None)
            return ValueType("sequence", inner=inner)
        if number == 5:
            key, inner = None, None
            for part, _, item in _fields(_message(value)):
                if part == 1 and isinstance(item, int):
                    key = ELEMENT_TYPES.get(item, str(item))
                elif part == 2:
                    inner = _type(_message(item))
            return ValueType("map", key=key, inner=inner)
    return ValueType("other")


def _tensor_type(data: memoryview) -> ValueType:
    element: str | None = None
    shape: tuple[Dim, ...] | None = None
    for number, _, value in _fields(data):
        if number == 1 and isinstance(value, int):
            element = ELEMENT_TYPES.get(value, f"type {value}")
        elif number == 2:
            shape = tuple(_dimension(_message(v)) for n, _, v in _fields(_message(value)) if n == 1)
    return ValueType("tensor", element, shape)


def _dimension(data: memoryview) -> Dim:
    for number, _, value in _fields(data):
        if number == 1 and isinstance(value, int):
            return _signed(value)
        if number == 2:
            return _text(value) or None
    return None


def _class_labels(node: memoryview) -> tuple[str, ...] | None:
    """`classlabels_strings` / `classlabels_int64s` of a classifier or ZipMap node, if any."""
    op_type = ""
    attributes: list[memoryview] = []
    for number, _, value in _fields(node):
        if number == 4:
            op_type = _text(value)
        elif number == 5:
            attributes.append(_message(value))
    if op_type not in CLASSIFIER_OPS:
        return None
    for attribute in attributes:
        name, strings, integers = "", [], []
        for number, wire, value in _fields(attribute):
            if number == 1:
                name = _text(value)
            elif number == 9:
                strings.append(_text(value))
            elif number == 8:
                integers.extend(_integers(wire, value))
        if name == "classlabels_strings" and strings:
            return tuple(strings)
        if name in ("classlabels_int64s", "classlabels_ints") and integers:
            return tuple(str(i) for i in integers)
    return None
