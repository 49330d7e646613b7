"""Request bodies in, raw columns out (and answers back): Open Inference Protocol v2 and /predict.

Every way a body can be wrong maps to one `ClientError` sentence naming the field, the row or the
feature, so a client can fix its request from the message alone. Values come out raw (see
`mlops.core.columns`): the schema rules and the model contract take it from there. Nothing here
touches the model.

v2 carries one tensor per graph input: one numeric [rows, n_features] tensor for a model that
takes every feature in one input, or one tensor per column for a model with one input per column,
BYTES for text (JSON strings, or 4-byte little-endian length-prefixed binary). `null` (or NaN) in
a nullable numeric column and `null` in a nullable text column are missing values.
"""

from __future__ import annotations

import difflib
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from mlops.core.columns import Columns, Matrix
from mlops.core.contract import ColumnRule

from .errors import ClientError, invalid
from .model import TensorInfo
from .schema import SchemaRules, Violation, check_cell, describe, type_error

V2_DTYPES: dict[str, type[np.generic]] = {
    "FP32": np.float32, "FP64": np.float64, "FP16": np.float16,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "BOOL": np.bool_,
}
NUMERIC = ", ".join(name for name in V2_DTYPES if name != "BOOL")
NUMPY_TO_V2 = {np.dtype(v): k for k, v in V2_DTYPES.items()}
DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_TEXT_CELLS = frozenset({str, type(None)})
"""The cell types a text tensor's JSON data may hold (check_cell's answer for text)."""


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=DUMPS_OPTIONS)


def parse_json(body: bytes) -> Any:
    """orjson first; NaN/Infinity literals (what Python's json.dumps writes) get a second chance so
    they are read as numbers rather than reported as malformed JSON."""
    if not body.strip():
        raise ClientError(400, "malformed_json", "the request body is empty; expected JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise ClientError(400, "malformed_json", f"malformed JSON: {error}") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{what} must be a JSON object, got {describe(value)}")
    return value


# --- Open Inference Protocol v2 ---------------------------------------------------------------


@dataclass(frozen=True)
class InferRequest:
    """A parsed v2 request: raw columns plus how the client wants the answer."""

    id: str | None
    columns: Columns
    rows: int
    outputs: tuple[str, ...]
    binary_outputs: frozenset[str]


@dataclass(frozen=True)
class ModelInput:
    """A graph input as v2 clients address it, and the spec columns it carries."""

    info: TensorInfo
    columns: tuple[str, ...]
    text: bool


def parse_infer(body: bytes, header_length: int | None, inputs: Sequence[ModelInput],
                outputs: Sequence[TensorInfo], rules: SchemaRules) -> InferRequest:
    if header_length is not None and not 0 < header_length <= len(body):
        raise invalid(f"Inference-Header-Content-Length {header_length} is outside the body "
                      f"({len(body)} bytes)")
    head, binary = (body, b"") if header_length is None else (
        body[:header_length], body[header_length:])
    doc = _object(parse_json(head), "the request")
    if "inputs" not in doc:
        raise invalid("missing field 'inputs': a list of tensors with name, shape, datatype and "
                      "data")
    tensors = doc["inputs"]
    names = [model_input.info.name for model_input in inputs]
    if not isinstance(tensors, list) or len(tensors) != len(inputs):
        given = f"{len(tensors)} tensors" if isinstance(tensors, list) else describe(tensors)
        expected = (f"exactly one tensor (the model's input '{names[0]}')" if len(names) == 1
                    else f"one tensor per model input ({', '.join(names)})")
        raise invalid(f"'inputs' must list {expected}, got {given}")
    by_name = {model_input.info.name: model_input for model_input in inputs}
    columns: dict[str, npt.NDArray[Any]] = {}
    matrix: Matrix | None = None
    rows: int | None = None
    offset = 0
    for index, item in enumerate(tensors):
        tensor = _object(item, f"inputs[{index}]")
        for field in ("name", "shape", "datatype"):
            if field not in tensor:
                raise invalid(f"inputs[{index}]: missing field '{field}'")
        model_input = by_name.get(tensor["name"])
        if model_input is None:
            raise invalid(f"inputs[{index}]: unknown input {tensor['name']!r}; " + (
                f"the model's input is '{names[0]}'" if len(names) == 1
                else f"the model's inputs are {', '.join(names)}"))
        if model_input.columns[0] in columns:
            raise invalid(f"inputs[{index}]: input '{tensor['name']}' is given twice")
        where = f"inputs[{index}]"
        values, count, offset = _tensor_values(tensor, binary, offset, model_input, rules, where)
        if rows is not None and count != rows:
            raise invalid(f"{where}: {count} rows, but the inputs before it have {rows}")
        rows = count
        width = len(model_input.columns)
        if width > 1 and len(inputs) == 1 and not model_input.text:
            matrix = Matrix(values.reshape(count, width), model_input.columns)
            continue
        for position, name in enumerate(model_input.columns):
            columns[name] = values[position::width] if width > 1 else values
    if binary and offset != len(binary):
        raise invalid(f"{len(binary) - offset} bytes after the JSON header belong to no input")
    chosen, binary_outputs = _requested_outputs(doc, outputs)
    request_id = doc.get("id")
    assert rows is not None
    return InferRequest(str(request_id) if request_id is not None else None,
                        columns if matrix is None else matrix, rows, chosen, binary_outputs)


def _tensor_values(tensor: dict[str, Any], binary: bytes, offset: int, model_input: ModelInput,
                   rules: SchemaRules, where: str) -> tuple[npt.NDArray[Any], int, int]:
    """(the values, row-major, as raw column values; the row count; the next binary offset)."""
    info, width = model_input.info, len(model_input.columns)
    datatype = tensor["datatype"]
    if model_input.text:
        if datatype != "BYTES":
            raise invalid(f"{where}: input '{info.name}' is text; its datatype must be BYTES, got "
                          f"{datatype!r}")
    elif not isinstance(datatype, str) or datatype not in V2_DTYPES:
        raise invalid(f"{where}: datatype {datatype!r} is not supported; expected one of "
                      f"{NUMERIC}")
    rows = _rows(tensor["shape"], width, info, where)
    count = rows * width
    need = _Need(tensor["shape"], count)
    parameters = tensor.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        if type(size) is not int or size < 0 or offset + size > len(binary):
            raise invalid(f"{where}: binary_data_size {size!r} does not fit the "
                          f"{len(binary) - offset} bytes left after the JSON header")
        chunk = binary[offset:offset + size]
        offset += size
        values = (_text_column(_binary_text(chunk, count, need, where),
                               rules.rules[model_input.columns[0]]) if model_input.text
                  else _binary_numbers(chunk, count, need, datatype, where))
    else:
        if "data" not in tensor:
            raise invalid(f"{where}: missing field 'data'")
        values = (_json_text(tensor["data"], count, need, where, rules, model_input)
                  if model_input.text else _json_numbers(tensor["data"], count, need, datatype,
                                                         where))
    return values, rows, offset


def _rows(shape: Any, width: int, info: TensorInfo, where: str) -> int:
    if type(shape) is list and 0 < len(shape) <= 2:  # the usual case, in a few type tests
        first, second = shape[0], shape[-1] if len(shape) == 2 else 1
        if (type(first) is int and type(second) is int and first > 0 and second == width
                and (len(shape) == 2 or width == 1)):
            return first
    expected = list(info.shape)
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise invalid(f"{where}: shape must be {_shape_text(expected)}, got {describe(shape)}")
    fits = (len(shape) == 2 and shape[1] == width) or (width == 1 and len(shape) == 1)
    if not fits:
        raise invalid(f"{where}: shape {shape} does not match the model input "
                      f"{_shape_text(expected)}")
    if shape[0] == 0:
        raise invalid(f"{where}: shape has 0 rows")
    return int(shape[0])


def _shape_text(shape: list[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _binary_numbers(chunk: bytes, count: int, need: _Need, datatype: str,
                    where: str) -> npt.NDArray[Any]:
    itemsize = np.dtype(V2_DTYPES[datatype]).itemsize
    if len(chunk) != count * itemsize:
        raise invalid(f"{where}: {len(chunk)} bytes of {datatype} hold "
                      f"{len(chunk) / itemsize:g} values but {need}")
    return np.frombuffer(chunk, dtype=V2_DTYPES[datatype]).astype(np.float64)


def _binary_text(chunk: bytes, count: int, need: _Need, where: str) -> list[str]:
    """BYTES in binary: each element is a 4-byte little-endian length, then its bytes."""
    items: list[str] = []
    position = 0
    while position < len(chunk):
        if position + 4 > len(chunk):
            raise invalid(f"{where}: BYTES data ends inside an element's length")
        (size,) = struct.unpack_from("<I", chunk, position)
        position += 4
        if position + size > len(chunk):
            raise invalid(f"{where}: BYTES element {len(items)} claims {size} bytes, only "
                          f"{len(chunk) - position} remain")
        try:
            items.append(chunk[position:position + size].decode("utf-8"))
        except UnicodeDecodeError:
            raise invalid(f"{where}: BYTES element {len(items)} is not UTF-8 text") from None
        position += size
    if len(items) != count:
        raise invalid(f"{where}: data has {len(items)} values but {need}")
    return items


def _json_numbers(data: Any, count: int, need: _Need, datatype: str,
                  where: str) -> npt.NDArray[Any]:
    if not isinstance(data, list):
        raise invalid(f"{where}: data must be a list of numbers, got {describe(data)}")
    try:
        values = np.asarray(data)
    except ValueError:
        raise invalid(f"{where}: data is ragged; expected a flat list of numbers or rows of "
                      "equal length") from None
    kind = values.dtype.kind
    if kind == "O":
        flat = values.ravel().tolist()
        if any(v is not None and (type(v) is bool or not isinstance(v, int | float))
               for v in flat):
            raise invalid(f"{where}: datatype {datatype} but data contains non-numbers "
                          "(strings, booleans or objects)")
        values = np.asarray([np.nan if v is None else v for v in flat], dtype=np.float64)
        kind = "f"
    elif datatype == "BOOL" and kind == "b":
        kind = "u"
    elif kind not in "iuf":
        found = "booleans" if kind == "b" else "non-numbers (strings, booleans or objects)"
        raise invalid(f"{where}: datatype {datatype} but data contains {found}")
    if kind == "f" and np.dtype(V2_DTYPES[datatype]).kind in "iub" and not np.all(
            np.isnan(values) | (np.mod(np.nan_to_num(values), 1) == 0)):
        raise invalid(f"{where}: datatype {datatype} but data contains non-integer numbers")
    if values.size != count:
        raise invalid(f"{where}: data has {values.size} values but {need}")
    return np.asarray(values, dtype=np.float64).ravel()


def _json_text(data: Any, count: int, need: _Need, where: str, rules: SchemaRules,
               model_input: ModelInput) -> npt.NDArray[Any]:
    if not isinstance(data, list):
        raise invalid(f"{where}: data must be a list of strings, got {describe(data)}")
    kinds = set(map(type, data))
    flat: list[Any] = data
    if list in kinds:
        flat = []
        for item in data:
            flat.extend(item if isinstance(item, list) else [item])
        kinds = set(map(type, flat))
    rule = rules.rules[model_input.columns[0]]
    if not kinds <= _TEXT_CELLS:  # only then is a cell by cell look needed to name the first
        for row, value in enumerate(flat):
            if not check_cell(rule, value):
                raise type_error(f"{where}: row {{row}}, ", row, rule, value)
    if len(flat) != count:
        raise invalid(f"{where}: data has {len(flat)} values but {need}")
    return _text_column(flat, rule)


def _text_column(items: Sequence[str | None], rule: ColumnRule) -> npt.NDArray[np.object_]:
    """Checked text cells (str or None) as a raw text column, the column's `null_value` read as
    null (see `placeholders_to_null`): one C-speed membership test finds whether any is there."""
    if rule.nullable and rule.null_value in items:
        items = [None if item == rule.null_value else item for item in items]
    column = np.empty(len(items), dtype=object)
    column[:] = items
    return column


class _Need:
    """The values a tensor's shape asks for, worded only when an error message needs it."""

    __slots__ = ("count", "shape")

    def __init__(self, shape: Any, count: int) -> None:
        self.shape, self.count = shape, count

    def __str__(self) -> str:
        return f"shape {self.shape} needs {self.count}"


def _requested_outputs(doc: dict[str, Any], model_outputs: Sequence[TensorInfo]
                       ) -> tuple[tuple[str, ...], frozenset[str]]:
    names = [o.name for o in model_outputs]
    parameters = doc.get("parameters") or {}
    all_binary = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    requested = doc.get("outputs")
    if requested is None:
        return tuple(names), frozenset(names) if all_binary else frozenset()
    if not isinstance(requested, list):
        raise invalid(f"'outputs' must be a list of {{\"name\": ...}} objects, got "
                      f"{describe(requested)}")
    chosen: list[str] = []
    binary: set[str] = set()
    for index, item in enumerate(requested):
        name = _object(item, f"outputs[{index}]").get("name")
        if name not in names:
            raise invalid(f"outputs[{index}]: unknown output {name!r}; the model's outputs are "
                          f"{', '.join(names)}")
        chosen.append(name)
        options = item.get("parameters") or {}
        wants = options.get("binary_data") if isinstance(options, dict) else None
        if wants is True or (wants is None and all_binary):
            binary.add(name)
    return tuple(chosen), frozenset(binary)


def infer_response(model_name: str, version: str, request: InferRequest,
                   outputs: dict[str, np.ndarray]) -> tuple[bytes, int | None]:
    """(body, JSON header length if binary tensors follow it)."""
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name in request.outputs:
        array = outputs[name]
        text = array.dtype.kind in "OUS"
        tensor: dict[str, Any] = {"name": name, "shape": list(array.shape),
                                  "datatype": "BYTES" if text else NUMPY_TO_V2.get(array.dtype,
                                                                                   "BYTES")}
        if name in request.binary_outputs:
            blob = bytes_blob(array) if text else np.ascontiguousarray(array).tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = [str(v) for v in array.ravel().tolist()] if text else array.ravel()
        tensors.append(tensor)
    document: dict[str, Any] = {"model_name": model_name, "model_version": version,
                                "outputs": tensors}
    if request.id is not None:
        document["id"] = request.id
    header = dumps(document)
    return (header + b"".join(blobs), len(header)) if blobs else (header, None)


def bytes_blob(array: np.ndarray) -> bytes:
    """A BYTES tensor in v2's binary data extension: each value 4-byte little-endian length
    prefixed."""
    parts = []
    for value in array.ravel().tolist():
        data = value if isinstance(value, bytes) else str(value).encode()
        parts.append(struct.pack("<I", len(data)) + data)
    return b"".join(parts)


# --- /predict ---------------------------------------------------------------------------------


def parse_instances(body: bytes, rules: SchemaRules) -> tuple[Columns, int, list[Violation]]:
    """`{"instances": [{feature: value, ...}, ...]}` -> (raw columns, rows, schema violations);
    a value of the wrong type is a 422 naming its row and feature."""
    doc = _object(parse_json(body), "the request")
    if "instances" not in doc:
        unknown = ", ".join(repr(k) for k in list(doc)[:5])
        raise invalid("missing field 'instances': a list of {feature: value} objects"
                      + (f" (got fields {unknown})" if unknown else ""))
    instances = doc["instances"]
    if not isinstance(instances, list) or not instances:
        raise invalid("'instances' must be a non-empty list of {feature: value} objects, got "
                      + ("an empty list" if isinstance(instances, list) else describe(instances)))
    features = list(rules.rules)
    width = len(features)
    table: list[list[Any]] = []
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise invalid(f"instances[{index}]: expected an object of feature: value, got "
                          f"{describe(instance)}")
        try:
            table.append([instance[name] for name in features])
        except KeyError:
            missing = [name for name in features if name not in instance]
            raise invalid(f"instances[{index}]: missing feature(s): {', '.join(missing)}") from None
        if len(instance) != width:
            raise invalid(f"instances[{index}]: {_unknown(instance, features)}")
    columns, violations = rules.read_rows(table, "instances[{row}]: ")
    return columns, len(table), violations


def _unknown(instance: dict[str, Any], features: Sequence[str]) -> str:
    known = set(features)
    unknown = [key for key in instance if key not in known]
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), features, n=1)
        hints.append(f"'{key}' (did you mean '{close[0]}'?)" if close else f"'{key}'")
    return f"unknown feature(s): {', '.join(hints)}"


def predict_response(model_name: str, request_id: str, task: str, labels: Sequence[str],
                     scores: np.ndarray) -> bytes:
    """Labels and per-class probabilities for classifiers, values for regression."""
    predictions: list[dict[str, Any]]
    if task == "regression":
        predictions = [{"value": value} for value in scores.tolist()]
    else:
        best = scores.argmax(axis=1).tolist()
        predictions = [{"label": labels[i], "probabilities": dict(zip(labels, row, strict=True))}
                       for i, row in zip(best, scores, strict=True)]
    return dumps({"model": model_name, "request_id": request_id, "predictions": predictions})
