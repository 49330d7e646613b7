"""Request bodies in, arrays out (and back): Open Inference Protocol v2 and the `/predict` shape.

Every way a body can be wrong maps to one `ClientError` sentence naming the field, the row or the
feature, so a client can fix its request from the message alone. Nothing here touches the model.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from .errors import ClientError, invalid
from .model import TensorInfo

V2_DTYPES: dict[str, type[np.generic]] = {
    "FP32": np.float32, "FP64": np.float64, "FP16": np.float16,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
}
NUMPY_TO_V2 = {np.dtype(v): k for k, v in V2_DTYPES.items()}
DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=DUMPS_OPTIONS)


def parse_json(body: bytes) -> Any:
    """orjson first; NaN/Infinity literals (what Python's json.dumps writes) get a second chance so
    they are reported as non-finite values rather than as malformed JSON."""
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
        raise invalid(f"{what} must be a JSON object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    return "a list" if isinstance(value, list) else "an object"


def check_finite(rows: np.ndarray, original: np.ndarray, features: Sequence[str],
                 where: str) -> None:
    """Reject NaN/Inf, naming the first offending row and feature (also FP32 overflow)."""
    finite = np.isfinite(rows)
    if finite.all():
        return
    row, column = (int(i) for i in np.argwhere(~finite)[0])
    value = original.reshape(rows.shape)[row, column]
    shown = f"{float(value)!r}, which overflows FP32" if np.isfinite(value) else str(float(value))
    raise ClientError(400, "non_finite",
                      f"{where}row {row}, feature '{features[column]}' is {shown}; NaN and "
                      "infinite values are rejected (set serving.allow_non_finite to accept them)")


# --- Open Inference Protocol v2 ---------------------------------------------------------------


@dataclass(frozen=True)
class InferRequest:
    """A validated v2 request: float32 rows plus how the client wants the answer."""

    id: str | None
    rows: np.ndarray
    outputs: tuple[str, ...]
    binary_outputs: frozenset[str]


def parse_infer(body: bytes, header_length: int | None, model_input: TensorInfo,
                model_outputs: Sequence[TensorInfo], features: Sequence[str],
                allow_non_finite: bool) -> InferRequest:
    if header_length is not None and not 0 < header_length <= len(body):
        raise invalid(f"Inference-Header-Content-Length {header_length} is outside the body "
                      f"({len(body)} bytes)")
    head, binary = (body, b"") if header_length is None else (
        body[:header_length], body[header_length:])
    doc = _object(parse_json(head), "the request")
    if "inputs" not in doc:
        raise invalid("missing field 'inputs': a list of tensors with name, shape, datatype and "
                      "data")
    inputs = doc["inputs"]
    if not isinstance(inputs, list) or len(inputs) != 1:
        count = f"{len(inputs)} tensors" if isinstance(inputs, list) else _kind(inputs)
        raise invalid(f"'inputs' must list exactly one tensor (the model's input "
                      f"'{model_input.name}'), got {count}")
    tensor = _object(inputs[0], "inputs[0]")
    for field in ("name", "shape", "datatype"):
        if field not in tensor:
            raise invalid(f"inputs[0]: missing field '{field}'")
    if tensor["name"] != model_input.name:
        raise invalid(f"inputs[0]: unknown input {tensor['name']!r}; the model's input is "
                      f"'{model_input.name}'")
    rows = _tensor_rows(tensor, binary, len(features))
    if not allow_non_finite:
        check_finite(rows[0], rows[1], features, "inputs[0]: ")
    outputs, binary_outputs = _requested_outputs(doc, model_outputs)
    request_id = doc.get("id")
    return InferRequest(str(request_id) if request_id is not None else None, rows[0],
                        outputs, binary_outputs)


def _tensor_rows(tensor: dict[str, Any], binary: bytes,
                 width: int) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [rows, width], the values as sent) from one v2 input tensor."""
    datatype = tensor["datatype"]
    dtype = V2_DTYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise invalid(f"inputs[0]: datatype {datatype!r} is not supported; expected one of "
                      f"{', '.join(V2_DTYPES)}")
    shape = tensor["shape"]
    if (not isinstance(shape, list) or len(shape) != 2 or
            not all(type(d) is int and d >= 0 for d in shape)):
        raise invalid(f"inputs[0]: shape must be [rows, {width}], got {_kind(shape)}"
                      if not isinstance(shape, list) else
                      f"inputs[0]: shape {shape} does not match the model input [-1, {width}]")
    if shape[1] != width or shape[0] == 0:
        raise invalid(f"inputs[0]: shape {shape} does not match the model input [-1, {width}]"
                      if shape[1] != width else "inputs[0]: shape has 0 rows")
    count = shape[0] * width
    parameters = tensor.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        if type(size) is not int or size != len(binary):
            raise invalid(f"inputs[0]: binary_data_size {size!r} does not match the "
                          f"{len(binary)} bytes after the JSON header")
        if size != count * np.dtype(dtype).itemsize:
            raise invalid(f"inputs[0]: {size} bytes of {datatype} hold "
                          f"{size / np.dtype(dtype).itemsize:g} values but shape {shape} needs "
                          f"{count}")
        values = np.frombuffer(binary, dtype=dtype)
    else:
        if "data" not in tensor:
            raise invalid("inputs[0]: missing field 'data'")
        values = _json_values(tensor["data"], datatype, dtype)
        if values.size != count:
            raise invalid(f"inputs[0]: data has {values.size} values but shape {shape} needs "
                          f"{count}")
    with np.errstate(over="ignore"):  # overflow becomes inf, which check_finite reports
        rows = values.astype(np.float32).reshape(shape[0], width)
    return rows, values


def _json_values(data: Any, datatype: str, dtype: type[np.generic]) -> np.ndarray:
    if not isinstance(data, list):
        raise invalid(f"inputs[0]: data must be a list of numbers, got {_kind(data)}")
    try:
        values = np.asarray(data)
    except ValueError:
        raise invalid("inputs[0]: data is ragged; expected a flat list of numbers or rows of "
                      "equal length") from None
    kind = values.dtype.kind
    if kind not in "iuf" or (kind == "f" and np.dtype(dtype).kind in "iu"):
        found = "non-integer numbers" if kind == "f" else "non-numbers (strings, booleans, null "\
            "or objects)" if kind != "b" else "booleans"
        raise invalid(f"inputs[0]: datatype {datatype} but data contains {found}")
    return values.ravel()


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
                      f"{_kind(requested)}")
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


def infer_response(model_name: str, request: InferRequest,
                   outputs: dict[str, np.ndarray]) -> tuple[bytes, int | None]:
    """(body, JSON header length if binary tensors follow it)."""
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name in request.outputs:
        array = outputs[name]
        tensor: dict[str, Any] = {"name": name, "datatype": NUMPY_TO_V2.get(array.dtype, "BYTES"),
                                  "shape": list(array.shape)}
        if name in request.binary_outputs:
            blob = np.ascontiguousarray(array).tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = array.ravel()
        tensors.append(tensor)
    document: dict[str, Any] = {"model_name": model_name, "model_version": "1",
                                "outputs": tensors}
    if request.id is not None:
        document["id"] = request.id
    header = dumps(document)
    return (header + b"".join(blobs), len(header)) if blobs else (header, None)


# --- /predict ---------------------------------------------------------------------------------


def parse_instances(body: bytes, features: Sequence[str],
                    allow_non_finite: bool) -> np.ndarray:
    """`{"instances": [{feature: number, ...}, ...]}` -> float32 [rows, n_features]."""
    doc = _object(parse_json(body), "the request")
    if "instances" not in doc:
        unknown = ", ".join(repr(k) for k in list(doc)[:5])
        raise invalid("missing field 'instances': a list of {feature: value} objects"
                      + (f" (got fields {unknown})" if unknown else ""))
    instances = doc["instances"]
    if not isinstance(instances, list) or not instances:
        raise invalid("'instances' must be a non-empty list of {feature: value} objects, got "
                      + ("an empty list" if isinstance(instances, list) else _kind(instances)))
    width = len(features)
    table: list[list[Any]] = []
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise invalid(f"instances[{index}]: expected an object of feature: value, got "
                          f"{_kind(instance)}")
        try:
            table.append([instance[name] for name in features])
        except KeyError:
            missing = [name for name in features if name not in instance]
            raise invalid(f"instances[{index}]: missing feature(s): {', '.join(missing)}") from None
        if len(instance) != width:
            raise invalid(f"instances[{index}]: {_unknown(instance, features)}")
    try:
        values = np.asarray(table)
    except ValueError:  # a value that is itself a list
        values = np.asarray(table, dtype=object)
    if values.dtype.kind not in "iuf" or values.ndim != 2:
        index, name, value = _first_non_number(table, features)
        raise invalid(f"instances[{index}]: feature '{name}' must be a number, got {_kind(value)}")
    with np.errstate(over="ignore"):
        rows = values.astype(np.float32)
    if not allow_non_finite:
        check_finite(rows, values, features, "")
    return rows


def _unknown(instance: dict[str, Any], features: Sequence[str]) -> str:
    known = set(features)
    unknown = [key for key in instance if key not in known]
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), features, n=1)
        hints.append(f"'{key}' (did you mean '{close[0]}'?)" if close else f"'{key}'")
    return f"unknown feature(s): {', '.join(hints)}"


def _first_non_number(table: list[list[Any]], features: Sequence[str]) -> tuple[int, str, Any]:
    for index, row in enumerate(table):
        for name, value in zip(features, row, strict=True):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return index, name, value
    raise AssertionError("no offending value")  # pragma: no cover - the caller saw one


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
