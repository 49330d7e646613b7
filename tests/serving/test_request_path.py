"""The request path's whole-batch shortcuts give what value-by-value work gave: text tensors and
their null placeholders, tensor shapes, the metrics' histograms, label counts and feature sums,
and the request log's rows (no server: the functions the server calls, on small inputs)."""

from __future__ import annotations

import json
import math
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from mlops.core.columns import Matrix, text_array
from mlops.core.contract import ColumnRule
from mlops.serving import metrics, request_log
from mlops.serving.config import RequestLogConfig
from mlops.serving.errors import ClientError
from mlops.serving.logs import _timestamp
from mlops.serving.metrics import Histogram, ServerMetrics
from mlops.serving.model import TensorInfo
from mlops.serving.protocol import ModelInput, parse_infer, parse_instances
from mlops.serving.request_log import RequestLogger
from mlops.serving.schema import SchemaRules

RULES = (ColumnRule("plan", "str", nullable=True, null_value="n/a"),
         ColumnRule("age", "float", nullable=True), ColumnRule("calls", "int"))
INPUTS = (ModelInput(TensorInfo("plan", "BYTES", (-1, 1)), ("plan",), True),
          ModelInput(TensorInfo("numbers", "FP32", (-1, 2)), ("age", "calls"), False))
OUTPUTS = (TensorInfo("probabilities", "FP32", (-1, 2)),)


def parse(body: bytes, header_length: int | None = None) -> dict[str, list[Any]]:
    parsed = parse_infer(body, header_length, INPUTS, OUTPUTS, SchemaRules(RULES, False))
    return {name: values.tolist() for name, values in parsed.columns.items()}


def v2(plan: dict[str, object], numbers_shape: list[object] | None = None) -> bytes:
    return json.dumps({"inputs": [
        {"name": "plan", "datatype": "BYTES", **plan},
        {"name": "numbers", "datatype": "FP32", "shape": numbers_shape or [3, 2],
         "data": [30.5, 1, None, 8, 64, 0]}]}).encode()


def test_json_text_reads_the_null_placeholder_and_null_as_missing() -> None:
    columns = parse(v2({"shape": [3, 1], "data": ["basic", "n/a", None]}))
    assert columns["plan"] == ["basic", None, None]
    assert columns["calls"] == [1.0, 8.0, 0.0]
    assert columns["age"][0::2] == [30.5, 64.0] and math.isnan(columns["age"][1])


def test_binary_text_reads_the_null_placeholder_as_missing() -> None:
    blob = b"".join(struct.pack("<I", len(v)) + v for v in (b"basic", b"n/a", b"premium"))
    head = json.dumps({"inputs": [
        {"name": "plan", "datatype": "BYTES", "shape": [3, 1],
         "parameters": {"binary_data_size": len(blob)}},
        {"name": "numbers", "datatype": "FP32", "shape": [3, 2],
         "data": [30.5, 1, 40, 8, 64, 0]}]}).encode()
    assert parse(head + blob, len(head))["plan"] == ["basic", None, "premium"]


def test_a_placeholder_in_a_column_that_is_not_nullable_stays_text() -> None:
    rules = SchemaRules((ColumnRule("plan", "str", null_value="n/a"),), False)
    parsed = parse_infer(b'{"inputs": [{"name": "plan", "datatype": "BYTES", "shape": [2], '
                         b'"data": ["n/a", "basic"]}]}', None, INPUTS[:1], OUTPUTS, rules)
    assert parsed.columns["plan"].tolist() == ["n/a", "basic"]


@pytest.mark.parametrize(("shape", "message"), [
    ([0, 2], "inputs[1]: shape has 0 rows"),
    ([True, 2], "inputs[1]: shape must be [-1, 2], got a list"),
    ([3, 1], "inputs[1]: shape [3, 1] does not match the model input [-1, 2]"),
    ([6], "inputs[1]: shape [6] does not match the model input [-1, 2]"),
    ([3, 2, 1], "inputs[1]: shape [3, 2, 1] does not match the model input [-1, 2]"),
    ([2, 2], "inputs[1]: data has 6 values but shape [2, 2] needs 4"),
])
def test_a_shape_off_the_usual_path_is_still_refused_with_its_message(shape: list[object],
                                                                      message: str) -> None:
    with pytest.raises(ClientError) as raised:
        parse(v2({"shape": [3, 1], "data": ["basic", "n/a", None]}, shape))
    assert raised.value.message == message


def test_one_tensor_of_every_column_is_checked_and_counted_as_its_columns_would_be() -> None:
    rules = SchemaRules((ColumnRule("age", "float", nullable=True, max=90),
                         ColumnRule("calls", "int")), False)
    numbers = (ModelInput(TensorInfo("numbers", "FP32", (-1, 2)), ("age", "calls"), False),)
    body = json.dumps({"inputs": [{"name": "numbers", "datatype": "FP32", "shape": [3, 2],
                                   "data": [30.5, 1, None, 8, 95, 2]}]}).encode()
    parsed = parse_infer(body, None, numbers, OUTPUTS, rules).columns
    instances, _, judged = parse_instances(json.dumps({"instances": [
        {"age": 30.5, "calls": 1}, {"age": None, "calls": 8}, {"age": 95, "calls": 2}]}).encode(),
        rules)
    split = {"age": np.array([30.5, math.nan, 95.0]), "calls": np.array([1.0, 8.0, 2.0])}
    assert isinstance(parsed, Matrix) and isinstance(instances, Matrix)
    expected = rules.check_columns(split, "row {row}, ")
    assert [(v.row, v.feature, v.rule) for v in expected] == [(2, "age", "max")]
    assert rules.check_columns(parsed, "row {row}, ") == judged == expected
    sums = []
    for columns in (parsed, instances, split):
        np.testing.assert_array_equal(np.array([columns["age"], columns["calls"]]),
                                      np.array([split["age"], split["calls"]]))
        metrics = ServerMetrics("m", ["age", "calls"], (0.5, 1.0))
        metrics.batch(columns, 3, np.array([0.2, 0.7, 0.9]))
        sums.append([(n, v) for n, _, v in metrics.samples() if n.startswith("mlops_feature")])
    assert sums[0] == sums[1] == sums[2]
    assert math.isnan(parsed["age"][1])  # the request's own values are left alone


def test_observe_many_counts_like_one_value_at_a_time() -> None:
    values = np.array([0.0, 0.1, 0.1000001, 0.55, 1.0, 1.5, 0.1, math.inf])
    one, many = Histogram((0.1, 0.5, 1.0)), Histogram((0.1, 0.5, 1.0))
    for value in values.tolist():
        one.observe(value)
    many.observe_many(values)
    assert list(many.samples("x", ())) == list(one.samples("x", ()))


def test_a_batch_counts_labels_and_sums_only_present_feature_values() -> None:
    metrics = ServerMetrics("m", ["age", "calls"], (0.5, 1.0), labels=("no", "yes"), positive=1)
    columns = {"age": np.array([30.0, math.nan, 50.0]), "calls": np.array([1.0, 2.0, 3.0]),
               "plan": text_array(["a", None, "b"])}
    metrics.batch(columns, 3, np.array([[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]))
    metrics.batch(columns, 3, np.array([[0.9, 0.1]] * 3))
    samples = {(name, labels[-1][1] if len(labels) > 2 else ""): value
               for name, labels, value in metrics.samples()}
    assert samples[("mlops_predictions_total", "yes")] == 2
    assert samples[("mlops_predictions_total", "no")] == 4
    assert samples[("mlops_prediction_value_bucket", "0.5")] == 4
    assert samples[("mlops_prediction_value_sum", "")] == pytest.approx(2.1)
    assert samples[("mlops_feature_value_sum", "age")] == 160.0
    assert samples[("mlops_feature_value_count", "age")] == 4
    assert samples[("mlops_feature_value_count", "calls")] == 6
    assert columns["age"][1] != columns["age"][1]  # the request's own values are left alone


def test_feature_sums_add_up_over_complete_runs_and_runs_with_missing_values() -> None:
    """A fold without a missing value takes the plain sums; one with them, the masked ones."""
    metrics = ServerMetrics("m", ["age", "calls"], (0.5,), labels=("no", "yes"))
    scores = np.array([[0.8, 0.2], [0.3, 0.7]])

    def sums() -> dict[tuple[str, str], float]:
        return {(name, labels[-1][1]): value for name, labels, value in metrics.samples()
                if name.startswith("mlops_feature_value")}

    metrics.batch(Matrix(np.array([[1.0, 3.0], [2.0, 4.0]]), ("age", "calls")), 2, scores)
    assert sums() == {("mlops_feature_value_sum", "age"): 3.0,
                      ("mlops_feature_value_count", "age"): 2.0,
                      ("mlops_feature_value_sum", "calls"): 7.0,
                      ("mlops_feature_value_count", "calls"): 2.0}
    metrics.batch({"age": np.array([math.nan, 5.0]), "calls": np.array([6.0, math.nan])}, 2,
                  scores)
    metrics.batch({"age": np.array([10.0, 20.0]), "calls": np.array([1.0, 1.0])}, 2, scores)
    assert sums() == {("mlops_feature_value_sum", "age"): 38.0,
                      ("mlops_feature_value_count", "age"): 5.0,
                      ("mlops_feature_value_sum", "calls"): 15.0,
                      ("mlops_feature_value_count", "calls"): 5.0}


def test_request_log_rows_keep_the_field_order_text_and_nulls(tmp_path: Path) -> None:
    logger = RequestLogger(RequestLogConfig(str(tmp_path), 1.0, "jsonl", 1), "churn",
                           ["plan", "age", "calls"], "sha256:ab", "challenger")
    columns = {"plan": text_array(["basic", None]), "age": np.array([30.5, math.nan]),
               "calls": np.array([1.0, 8.0])}
    logger.add("req-1", columns, ["no", "yes"], [0.25, 0.75])
    logger.close()
    rows = [json.loads(line) for path in tmp_path.glob("*.jsonl")
            for line in path.read_text().splitlines()]
    assert [list(row) for row in rows] == [["timestamp", "request_id", "model", "model_digest",
                                            "row", "plan", "age", "calls", "prediction", "score",
                                            "variant"]] * 2
    assert [{k: v for k, v in row.items() if k != "timestamp"} for row in rows] == [
        {"request_id": "req-1", "model": "churn", "model_digest": "sha256:ab", "row": 0,
         "plan": "basic", "age": 30.5, "calls": 1.0, "prediction": "no", "score": 0.25,
         "variant": "challenger"},
        {"request_id": "req-1", "model": "churn", "model_digest": "sha256:ab", "row": 1,
         "plan": None, "age": None, "calls": 8.0, "prediction": "yes", "score": 0.75,
         "variant": "challenger"}]
    assert rows[0]["timestamp"] == rows[1]["timestamp"]


TRICKY_NUMBERS = [0.1, math.nan, -0.0, 1e300, 5e-324, 3.0, math.inf, -2.5e-7]


def tricky_columns(kind: str) -> Any:
    """Columns named and filled to trip a text template: %, quotes, commas, braces, unicode."""
    numbers = np.array(TRICKY_NUMBERS)
    if kind == "matrix":
        return Matrix(np.stack([numbers, numbers[::-1]], axis=1), ("a%d", 'b"q'))
    if kind == "fortran-matrix":
        return Matrix(np.asfortranarray(np.stack([numbers, numbers[::-1]], axis=1)),
                      ("a%d", 'b"q'))
    pairs = np.stack([numbers, numbers[::-1]], axis=1).ravel()
    text = ["x,y", None, '{"},{"}', "%s%%", "é ☃", "", "n/a", "\n"]
    return {"a%d": pairs[0::2], 'b"q': pairs[1::2], "plan": text_array(text)}


@pytest.mark.parametrize("kind", ["matrix", "fortran-matrix", "columns"])
@pytest.mark.parametrize("task", ["classifier", "regression"])
def test_jsonl_lines_are_each_rows_dict_as_orjson_writes_it(tmp_path: Path, kind: str,
                                                            task: str) -> None:
    """The template encoder writes, byte for byte, what dumping a dict per row writes."""
    columns = tricky_columns(kind)
    features = tuple(columns)
    rows = len(TRICKY_NUMBERS)
    predictions: list[Any] = ([f"l%{i}\"" for i in range(rows)] if task == "classifier"
                              else TRICKY_NUMBERS)
    scores = [0.25, math.nan, 1.0, 0.0, 1e-9, 0.5, 0.75, 1 / 3]
    sink = request_log.JsonlSink(tmp_path, "m", 1 << 20,
                                 request_log.Fields("m%s", "sha256:%d", "v%", features))
    written = sink.encode(request_log.Sampled(1764658800.125, "id%s,1", columns, predictions,
                                              scores))
    cells = {name: [None if isinstance(v, float) and v != v else v
                    for v in np.asarray(columns[name]).tolist()] for name in features}
    expected = b"".join(orjson.dumps(
        {"timestamp": 1764658800.125, "request_id": "id%s,1", "model": "m%s",
         "model_digest": "sha256:%d", "row": row, **{name: cells[name][row] for name in features},
         "prediction": predictions[row], "score": scores[row], "variant": "v%"},
        option=orjson.OPT_APPEND_NEWLINE) for row in range(rows))
    assert written == expected


def test_numpy_scalars_among_the_answers_are_written_as_the_numbers_they_are(
        tmp_path: Path) -> None:
    sink = request_log.JsonlSink(tmp_path, "m", 1 << 20,
                                 request_log.Fields("m", "sha256:ab", "champion", ("a",)))
    columns = {"a": np.array([1.5, 2.0])}
    plain = sink.encode(request_log.Sampled(1.0, "r", columns, [0.5, 0.25], [0.5, 0.25]))
    scalars = list(np.array([0.5, 0.25]))
    assert sink.encode(request_log.Sampled(1.0, "r", columns, scalars, scalars)) == plain


def test_parquet_rows_are_the_jsonl_rows(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    columns = tricky_columns("columns")
    fields = request_log.Fields("m", "sha256:ab", "champion", tuple(columns))
    sampled = request_log.Sampled(1764658800.125, "r1", columns, ["no"] * 8, [0.5] * 8)
    table = request_log.ParquetSink(tmp_path, "m", 1 << 20, fields).encode(sampled)
    lines = request_log.JsonlSink(tmp_path, "m", 1 << 20, fields).encode(sampled).splitlines()
    parsed = [json.loads(line) for line in lines]
    assert table.column_names == list(parsed[0])
    assert [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in row.items()}
            for row in table.to_pylist()] == parsed


@pytest.mark.parametrize("missing", [False, True])
def test_a_matrix_request_logs_the_rows_its_columns_would(tmp_path: Path, missing: bool) -> None:
    block = np.array([[1.5, 2.0], [math.nan if missing else 3.0, 4.25]])
    logged = []
    for name, columns in (("columns", {"a": block[:, 0].copy(), "b": block[:, 1].copy()}),
                          ("matrix", Matrix(block, ("a", "b")))):
        folder = tmp_path / name
        logger = RequestLogger(RequestLogConfig(str(folder), 1.0, "jsonl", 1), "m", ["a", "b"],
                               "sha256:ab")
        logger.add("req-1", columns, ["no", "yes"], [0.25, 0.75])
        logger.close()
        logged.append([{k: v for k, v in json.loads(line).items() if k != "timestamp"}
                       for path in folder.glob("*.jsonl")
                       for line in path.read_text().splitlines()])
    assert logged[1] == logged[0]
    assert [(row["a"], row["b"]) for row in logged[1]] == [
        (1.5, 2.0), (None if missing else 3.0, 4.25)]


def test_parquet_request_log_joins_requests_whose_column_was_all_null(tmp_path: Path) -> None:
    """Each request is encoded on its own, so a column null in every row of one request is typed
    null there; the writer still gives one file with the column's real type."""
    import pyarrow.parquet as pq

    logger = RequestLogger(RequestLogConfig(str(tmp_path), 1.0, "parquet", 1), "churn",
                           ["plan", "age", "calls"], "sha256:ab")
    logger.add("req-1", {"plan": text_array([None]), "age": np.array([math.nan]),
                         "calls": np.array([1.0])}, ["no"], [0.25])
    logger.add("req-2", {"plan": text_array(["basic", "pro"]), "age": np.array([30.5, 41.0]),
                         "calls": np.array([2.0, 3.0])}, ["yes", "no"], [0.75, 0.5])
    logger.close()
    (path,) = tmp_path.glob("*.parquet")
    table = pq.read_table(path)
    assert str(table.schema.field("age").type) == "double"
    assert str(table.schema.field("plan").type) == "string"
    assert table.column("request_id").to_pylist() == ["req-1", "req-2", "req-2"]
    assert table.column("age").to_pylist() == [None, 30.5, 41.0]
    assert table.column("plan").to_pylist() == [None, "basic", "pro"]


def test_a_busy_request_log_is_written_before_its_second_is_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FLUSH_BYTES of encoded rows wake the writer: one write per second of a busy server's rows
    was a stall of several milliseconds (here the writer would otherwise sleep a minute)."""
    monkeypatch.setattr(request_log, "FLUSH_SECONDS", 60.0)
    logger = RequestLogger(RequestLogConfig(str(tmp_path), 1.0, "jsonl", 64), "churn",
                           ["plan", "age", "calls"], "sha256:ab")
    rows = 64
    columns = {"plan": text_array(["basic"] * rows), "age": np.full(rows, 30.5),
               "calls": np.ones(rows)}
    requests = 0
    while logger.pending_bytes < request_log.FLUSH_BYTES:
        logger.add(f"req-{requests}", columns, ["no"] * rows, [0.25] * rows)
        requests += 1
    deadline = time.monotonic() + 30
    while not _logged_lines(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _logged_lines(tmp_path) == requests * rows
    logger.close()


def _logged_lines(folder: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in folder.glob("*.jsonl"))


def test_log_timestamps_are_utc_milliseconds_across_seconds() -> None:
    stamps = [_timestamp(t) for t in (1764590400.125, 1764590400.9999, 1764590401.5, 59.25,
                                      1764590400.0)]
    assert stamps == ["2025-12-01T12:00:00.125Z", "2025-12-01T12:00:00.999Z",
                      "2025-12-01T12:00:01.500Z", "1970-01-01T00:00:59.250Z",
                      "2025-12-01T12:00:00.000Z"]


@pytest.mark.parametrize("labels", [(), ("a", "b", "c")])
def test_runs_added_up_later_count_as_if_added_one_by_one(labels: tuple[str, ...]) -> None:
    """Over FOLD_BATCHES runs and before a scrape in between: the same samples as one run of
    every row (but the batch sizes)."""
    rng = np.random.default_rng(7)
    runs = metrics.FOLD_BATCHES + 40
    ages = np.where(rng.random(runs) < 0.2, math.nan, rng.normal(40, 10, runs))
    scores = rng.dirichlet(np.ones(3), runs) if labels else rng.normal(0.5, 0.3, runs)
    whole = ServerMetrics("m", ["age"], (0.25, 0.5, 0.75), labels=labels)
    whole.batch({"age": ages}, runs, scores)
    one_by_one = ServerMetrics("m", ["age"], (0.25, 0.5, 0.75), labels=labels)
    for row in range(runs):
        one_by_one.batch(Matrix(ages[row:row + 1, None], ("age",)), 1, scores[row:row + 1])
        if row == 10:
            early = {(n, lbl): v for n, lbl, v in one_by_one.samples()}
            assert early[("mlops_feature_value_count", (*whole.model, ("feature", "age")))] == (
                np.count_nonzero(~np.isnan(ages[:11])))

    def shown(samples: list[Any]) -> dict[Any, float]:
        return {(n, lbl): v for n, lbl, v in samples if not n.startswith("mlops_batch_rows")}

    expected, got = shown(whole.samples()), shown(one_by_one.samples())
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected)
