"""Every client mistake, sent to a real server: 4xx, a JSON error naming what was wrong, no 5xx,
and the server keeps answering correctly afterwards."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest

from tests.serving.serve_helpers import Server, metric_value

GOOD_ROW = {"alpha": 1.0, "beta": 2.0, "gamma": 0.0, "delta": 1.0}
JSON_HEADERS = {"Content-Type": "application/json"}
INFER = "/v2/models/tiny/infer"


def tensor(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "X", "shape": [1, 4], "datatype": "FP32",
                               "data": [1, 2, 0, 1]}
    base.update(overrides)
    return {"inputs": [{k: v for k, v in base.items() if v is not None}]}


def raw(text: str) -> bytes:
    return text.encode()


CASES: list[tuple[str, str, str, bytes | dict[str, object], dict[str, str], int, str, str]] = [
    ("malformed json", "POST", "/predict", b'{"instances": [', JSON_HEADERS, 400,
     "malformed_json", "malformed JSON: unexpected end of data: line 1 column 16 (char 15)"),
    ("empty body", "POST", "/predict", b"", JSON_HEADERS, 400, "malformed_json",
     "the request body is empty; expected JSON"),
    ("wrong content type", "POST", "/predict", b"alpha=1", {"Content-Type": "text/plain"}, 415,
     "content_type", "Content-Type must be application/json, got 'text/plain'"),
    ("form content type on v2", "POST", INFER, b"a=1",
     {"Content-Type": "application/x-www-form-urlencoded"}, 415, "content_type",
     "Content-Type must be application/json, got 'application/x-www-form-urlencoded'"),
    ("not an object", "POST", "/predict", b"[1, 2]", JSON_HEADERS, 400, "invalid_input",
     "the request must be a JSON object, got a list"),
    ("missing instances", "POST", "/predict", {"rows": []}, {}, 400, "invalid_input",
     "missing field 'instances': a list of {feature: value} objects (got fields 'rows')"),
    ("empty instances", "POST", "/predict", {"instances": []}, {}, 400, "invalid_input",
     "'instances' must be a non-empty list of {feature: value} objects, got an empty list"),
    ("instance not an object", "POST", "/predict", {"instances": [[1, 2, 0, 1]]}, {}, 400,
     "invalid_input", "instances[0]: expected an object of feature: value, got a list"),
    ("missing feature", "POST", "/predict",
     {"instances": [GOOD_ROW, {"alpha": 1.0, "beta": 2.0}]}, {}, 400, "invalid_input",
     "instances[1]: missing feature(s): gamma, delta"),
    ("unknown feature", "POST", "/predict", {"instances": [{**GOOD_ROW, "gama": 3, "colour": 1}]},
     {}, 400, "invalid_input",
     "instances[0]: unknown feature(s): 'gama' (did you mean 'gamma'?), 'colour'"),
    ("string value", "POST", "/predict", {"instances": [{**GOOD_ROW, "beta": "2.0"}]}, {}, 422,
     "schema", "instances[0]: feature 'beta' must be a number (dtype float), got the string "
     "'2.0'"),
    ("boolean value", "POST", "/predict", {"instances": [GOOD_ROW, {**GOOD_ROW, "beta": True}]},
     {}, 422, "schema", "instances[1]: feature 'beta' must be a number (dtype float), got true"),
    ("null value", "POST", "/predict", {"instances": [{**GOOD_ROW, "delta": None}]}, {}, 422,
     "schema", "instances[0]: feature 'delta' is missing (null or NaN), but data.schema.delta "
     "is not nullable"),
    ("nan literal", "POST", "/predict",
     raw('{"instances": [{"alpha": 1, "beta": NaN, "gamma": 0, "delta": 1}]}'), JSON_HEADERS,
     422, "schema", "instances[0]: feature 'beta' is missing (null or NaN), but "
     "data.schema.beta is not nullable"),
    ("above the maximum", "POST", "/predict", {"instances": [{**GOOD_ROW, "gamma": 11}]}, {},
     422, "schema", "instances[0]: feature 'gamma' is 11, above the maximum 10 "
     "(data.schema.gamma.max)"),
    ("infinity", "POST", INFER, raw('{"inputs": [{"name": "X", "shape": [2, 4], "datatype": '
                                    '"FP64", "data": [1, 2, 0, 1, 1, 2, 0, 1e999]}]}'),
     JSON_HEADERS, 400, "non_finite", "row 1, feature 'delta' is inf; infinite values are "
     "rejected (set serving.allow_non_finite to accept them)"),
    ("fp32 overflow", "POST", INFER, tensor(data=[1, 2, 1e39, 1]), {}, 400, "non_finite",
     "row 0, feature 'gamma' is 1e+39, which overflows FP32; infinite values are rejected "
     "(set serving.allow_non_finite to accept them)"),
    ("missing inputs", "POST", INFER, {"outputs": []}, {}, 400, "invalid_input",
     "missing field 'inputs': a list of tensors with name, shape, datatype and data"),
    ("two inputs", "POST", INFER, {"inputs": [{}, {}]}, {}, 400, "invalid_input",
     "'inputs' must list exactly one tensor (the model's input 'X'), got 2 tensors"),
    ("missing shape", "POST", INFER, tensor(shape=None), {}, 400, "invalid_input",
     "inputs[0]: missing field 'shape'"),
    ("missing data", "POST", INFER, tensor(data=None), {}, 400, "invalid_input",
     "inputs[0]: missing field 'data'"),
    ("unknown input", "POST", INFER, tensor(name="input"), {}, 400, "invalid_input",
     "inputs[0]: unknown input 'input'; the model's input is 'X'"),
    ("wrong shape", "POST", INFER, tensor(shape=[1, 3], data=[1, 2, 3]), {}, 400,
     "invalid_input", "inputs[0]: shape [1, 3] does not match the model input [-1, 4]"),
    ("shape vs data", "POST", INFER, tensor(shape=[2, 4]), {}, 400, "invalid_input",
     "inputs[0]: data has 4 values but shape [2, 4] needs 8"),
    ("ragged data", "POST", INFER, tensor(shape=[2, 4], data=[[1, 2, 0, 1], [1, 2]]), {}, 400,
     "invalid_input",
     "inputs[0]: data is ragged; expected a flat list of numbers or rows of equal length"),
    ("unsupported datatype", "POST", INFER, tensor(datatype="BYTES"), {}, 400, "invalid_input",
     "inputs[0]: datatype 'BYTES' is not supported; expected one of FP32, FP64, FP16, INT8, "
     "INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64"),
    ("floats declared INT64", "POST", INFER, tensor(datatype="INT64", data=[1.5, 2, 0, 1]), {},
     400, "invalid_input", "inputs[0]: datatype INT64 but data contains non-integer numbers"),
    ("strings in data", "POST", INFER, tensor(data=["1", "2", "0", "1"]), {}, 400,
     "invalid_input", "inputs[0]: datatype FP32 but data contains non-numbers (strings, "
     "booleans or objects)"),
    ("unknown output", "POST", INFER, {**tensor(), "outputs": [{"name": "proba"}]}, {}, 400,
     "invalid_input", "outputs[0]: unknown output 'proba'; the model's outputs are label, "
     "probabilities"),
    ("unknown model", "POST", "/v2/models/nope/infer", tensor(), {}, 404, "unknown_model",
     "unknown model 'nope'; this server serves 'tiny'"),
    ("unknown model metadata", "GET", "/v2/models/nope", b"", {}, 404, "unknown_model",
     "unknown model 'nope'; this server serves 'tiny'"),
    ("unknown path", "GET", "/v1/models/tiny:predict", b"", {}, 404, "not_found",
     "no route GET /v1/models/tiny:predict; the model is served at /v2/models/tiny/infer and "
     "/predict"),
    ("wrong method", "GET", "/predict", b"", {}, 405, "method_not_allowed",
     "GET is not allowed on /predict; use POST"),
    ("body over the limit", "POST", "/predict", b"{" + b" " * 5000 + b"}", JSON_HEADERS, 413,
     "body_too_large", "the request body is over the limit: 5002 bytes > 4096 "
     "(serving.max_body_bytes)"),
    ("gzip bomb", "POST", "/predict", gzip.compress(b" " * 100_000),
     {**JSON_HEADERS, "Content-Encoding": "gzip"}, 413, "body_too_large",
     "the decompressed request body is over the limit: 4097 bytes > 4096 "
     "(serving.max_body_bytes)"),
    ("unknown encoding", "POST", "/predict", b"{}", {**JSON_HEADERS, "Content-Encoding": "br"},
     415, "content_encoding", "Content-Encoding 'br' is not supported; use gzip, deflate or none"),
]


@pytest.fixture(scope="module")
def errors_before(server: Server) -> Iterator[str]:
    yield server.metrics()


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "kind", "message"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_client_mistake_gets_a_4xx_saying_what_was_wrong(
        server: Server, errors_before: str, method: str, path: str,
        body: bytes | dict[str, object], headers: dict[str, str], status: int, kind: str,
        message: str) -> None:
    reply = server.request(method, path, body, headers)
    assert (reply.status, reply.json()) == (status, {"error": message, "kind": kind})
    assert reply.headers["content-type"] == "application/json"
    good = server.request("POST", "/predict", {"instances": [GOOD_ROW]})
    assert good.status == 200, good.body


def test_chunked_body_over_the_limit_is_cut_off(server: Server) -> None:
    chunks = (b"{" + b" " * 1000 for _ in range(6))  # no Content-Length: read and counted
    reply = server.request("POST", "/predict", chunks, JSON_HEADERS)  # type: ignore[arg-type]
    assert reply.status == 413
    assert reply.json()["error"].startswith("the request body is over the limit: ")


def test_no_client_mistake_was_a_server_error(server: Server, errors_before: str) -> None:
    after = server.metrics()
    for line in after.splitlines():
        if line.startswith("mlops_requests_total{"):
            assert 'status="5' not in line, line
    assert metric_value(after, "mlops_errors_total", kind="internal") == 0
    before = metric_value(errors_before, "mlops_errors_total", kind="invalid_input")
    assert metric_value(after, "mlops_errors_total", kind="invalid_input") > before
    assert json.loads(server.request("GET", "/v2/health/ready").body) == {"ready": True}
