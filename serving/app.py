"""The ASGI application: routing, body limits, error mapping, metrics and logs around the model.

A plain ASGI callable rather than a framework: the whole request path is a dict lookup, one body
read and one orjson dump, which is what the serving benchmark measured fastest (bench/serve/).
Anything a client gets wrong becomes a 4xx JSON error; only a server bug is a 500.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlops.core import telemetry
from mlops.core.columns import Columns
from mlops.core.contract import FLOAT_ELEMENTS
from mlops.core.version import installed_version

from . import logs
from .batching import MicroBatcher, Outputs
from .config import CONFIG_ENV, ServerConfig
from .errors import ClientError, error_body
from .metrics import ServerMetrics, SharedMetrics, merge, render
from .model import ServedModel
from .protocol import (
    ModelInput,
    dumps,
    infer_response,
    parse_infer,
    parse_instances,
    predict_response,
)
from .request_log import RequestLogger
from .schema import SchemaRules, Violation, schema_error

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
METRICS_DIR_ENV = "MLOPS_METRICS_DIR"
JSON = b"application/json"
log = logging.getLogger("mlops.serve")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: bytes = JSON
    headers: tuple[tuple[bytes, bytes], ...] = ()
    rows: int = 0


class Disconnected(Exception):
    """The client closed the connection before sending its whole body."""


Handler = Callable[["Request"], Awaitable[Response]]


@dataclass
class Request:
    scope: Scope
    receive: Receive
    request_id: str

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.scope["headers"]:
            if key == name:
                return bytes(value)
        return None


class InferenceApp:
    """One model behind the Open Inference Protocol v2, `/predict` and `/metrics`."""

    def __init__(self, config: ServerConfig, model: ServedModel, metrics_dir: Path | None = None,
                 access_log: bool = True) -> None:
        self.config = config
        self.model = model
        self.name = config.name
        self.access_log = access_log
        contract = model.model.contract
        lineage = model.lineage
        self.version = lineage.version
        self.lineage_headers = lineage.headers
        numeric = [rule.name for rule in config.columns if not rule.text]
        self.positive = 1 if config.task == "binary_classification" else None
        self.metrics = ServerMetrics(config.name, numeric, config.value_buckets, (
            ("version", lineage.version), ("digest", lineage.digest), ("commit", lineage.commit)),
            variant=config.variant, positive=self.positive,
            labels=() if config.task == "regression" else model.labels)
        self.metrics.ready = 1.0
        self.shared = SharedMetrics(metrics_dir, self.metrics) if metrics_dir else None
        self.request_log = (RequestLogger(config.request_log, config.name, config.features,
                                          lineage.digest, config.variant)
                            if config.request_log and config.request_log.sample_rate > 0 else None)
        if self.request_log is not None and self.request_log.uploader is not None:
            self.metrics.upload = self.request_log.uploader.samples
        self.rules = SchemaRules(config.columns, config.allow_non_finite)
        self.inputs = tuple(
            ModelInput(info, binding.columns, binding.element == "string")
            for info, binding in zip(model.inputs, contract.inputs, strict=True))
        self.null_proof = frozenset(
            name for binding in contract.inputs
            if binding.element in FLOAT_ELEMENTS or binding.element == "string"
            for name in binding.columns)
        """Columns whose graph input can take a missing value (NaN, or the text placeholder)."""
        self.batcher = MicroBatcher(self.model.run, self._observe, config.max_batch_size,
                                    config.max_batch_delay_ms)
        self.static: dict[str, tuple[str, Handler]] = {
            telemetry.LIVE_PATH: ("GET", self.live),
            telemetry.READY_PATH: ("GET", self.ready),
            telemetry.METRICS_PATH: ("GET", self.metrics_text),
            telemetry.PREDICT_PATH: ("POST", self.predict),
            "/v2": ("GET", self.server_metadata),
        }
        self.metadata = dumps({
            "name": self.name, "versions": [lineage.version], "platform": "onnxruntime_onnx",
            "inputs": [info.metadata() for info in model.inputs],
            "outputs": [o.metadata() for o in model.outputs],
            "parameters": {"features": list(config.features), "task": config.task,
                           "labels": list(model.labels)},
        })

    # --- the model --------------------------------------------------------------------------

    def _observe(self, columns: Columns, rows: int, outputs: Outputs) -> None:
        self.metrics.batch(columns, rows, self.model.scores(outputs, rows))

    def _log_outputs(self, request_id: str, columns: Columns, outputs: Outputs,
                     rows: int) -> None:
        self._log_sample(request_id, columns, self.model.scores(outputs, rows))

    def _log_sample(self, request_id: str, columns: Columns, scores: np.ndarray) -> None:
        """A sampled request's rows into the request log: called at the loop's step after its
        response went out (0.2-0.6 ms for 64 rows that no client should wait for)."""
        assert self.request_log is not None
        if self.config.task == "regression":
            values = scores.tolist()
            self.request_log.add(request_id, columns, values, values)
            return
        labels = [self.model.labels[i] for i in scores.argmax(axis=1).tolist()]
        chosen = scores[:, self.positive] if self.positive is not None else scores.max(axis=1)
        self.request_log.add(request_id, columns, labels, chosen.tolist())

    def _enforce(self, violations: list[Violation], where: str) -> None:
        """data.schema on the request: every violation counted; the first one rejected (422),
        unless `log` mode lets it through - which a null for an input that cannot hold one
        never is."""
        if not violations:
            return
        for violation in violations:
            self.metrics.violation(violation.feature, violation.rule)
        if self.config.on_schema_violation == "reject":
            raise schema_error(where, violations[0])
        for violation in violations:
            if violation.rule == "nullable" and violation.feature not in self.null_proof:
                raise schema_error(where, violation)

    # --- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        publisher: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                publisher = asyncio.create_task(self._publish()) if self.shared else None
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if publisher is not None:
                    publisher.cancel()
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _publish(self) -> None:
        """Several workers: keep this worker's snapshot at most a second old for the others."""
        assert self.shared is not None
        while True:
            await asyncio.sleep(1.0)
            self.shared.publish()

    def close(self) -> None:
        """After uvicorn has drained the connections: flush the request log, stop the thread."""
        self.metrics.ready = 0.0
        self.batcher.close()
        if self.request_log is not None:
            self.request_log.close()
        if self.shared is not None:
            self.shared.publish()

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        request = Request(scope, receive, _request_id(scope["headers"]))
        endpoint, handler = self.route(scope["method"], scope["path"])
        try:
            response = await handler(request)
        except ClientError as error:
            self.metrics.error(error.kind)
            response = Response(error.status, error.body(), headers=error.headers)
        except Disconnected:
            self.metrics.error("disconnected")
            return
        except Exception:
            log.exception("request %s %s failed", scope["method"], scope["path"])
            self.metrics.error("internal")
            response = Response(500, error_body("internal server error; see the server log "
                                                f"(request id {request.request_id})", "internal"))
        await send({"type": "http.response.start", "status": response.status, "headers": [
            (b"content-type", response.content_type),
            (b"content-length", str(len(response.body)).encode()),
            (b"x-request-id", request.request_id.encode()), *self.lineage_headers,
            *response.headers]})
        await send({"type": "http.response.body", "body": response.body})
        seconds = time.perf_counter() - start
        self.metrics.request(endpoint, response.status, seconds)
        if self.access_log:
            client = scope.get("client")
            logs.access(self.name, scope["method"], scope["path"], response.status, seconds,
                        request.request_id, f"{client[0]}:{client[1]}" if client else "",
                        response.rows)

    def route(self, method: str, path: str) -> tuple[str, Handler]:
        """(endpoint label, handler); errors are handlers too, so they are counted and logged."""
        found = self.static.get(path)
        if found is not None:
            return path, found[1] if method == found[0] else _not_allowed(method, path, found[0])
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[:2] != ["v2", "models"]:
            return "other", _fail(404, "not_found", f"no route {method} {path}; the model is "
                                  f"served at /v2/models/{self.name}/infer and "
                                  f"{telemetry.PREDICT_PATH}")
        name, rest = parts[2], parts[3:]
        if len(rest) >= 2 and rest[0] == "versions":
            rest = rest[2:]  # one version is served whatever the client names
        action = rest[0] if len(rest) == 1 else "" if not rest else "?"
        routes: dict[str, tuple[str, str, Handler]] = {
            "": ("GET", "/v2/models/{name}", self.model_metadata),
            "ready": ("GET", "/v2/models/{name}/ready", self.ready),
            "infer": ("POST", telemetry.INFER_ENDPOINT, self.infer),
        }
        if action not in routes:
            return "other", _fail(404, "not_found", f"no route {method} {path}")
        wanted, endpoint, handler = routes[action]
        if name != self.name:
            return endpoint, _fail(404, "unknown_model", f"unknown model {name!r}; this server "
                                   f"serves '{self.name}'")
        return endpoint, handler if method == wanted else _not_allowed(method, path, wanted)

    # --- endpoints ---------------------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        return Response(200, b'{"live":true}')

    async def ready(self, request: Request) -> Response:
        ready = self.metrics.ready == 1.0
        return Response(200 if ready else 503, b'{"ready":true}' if ready else b'{"ready":false}')

    async def server_metadata(self, request: Request) -> Response:
        return Response(200, dumps({"name": "mlops", "version": installed_version(), "extensions": [
            "binary_tensor_data"]}))

    async def model_metadata(self, request: Request) -> Response:
        return Response(200, self.metadata)

    async def metrics_text(self, request: Request) -> Response:
        samples = self.shared.collect() if self.shared else merge([self.metrics.samples()])
        return Response(200, render(samples), b"text/plain; version=0.0.4; charset=utf-8")

    async def infer(self, request: Request) -> Response:
        length = request.header(b"inference-header-content-length")
        self.batcher.reading += 1
        try:
            body = await self.read_body(request, binary=length is not None)
            header_length = _header_length(length)
            await self.batcher.admit()
            parsed = parse_infer(body, header_length, self.inputs, self.model.outputs,
                                 self.rules)
            self._enforce(self.rules.check_columns(parsed.columns, "row {row}, "), "row {row}, ")
        finally:
            self.batcher.done_reading()
        outputs = await self.batcher.predict(parsed.columns, parsed.rows)
        if self.request_log is not None and self.request_log.sampled(request.request_id):
            asyncio.get_running_loop().call_soon(self._log_outputs, request.request_id,
                                                 parsed.columns, outputs, parsed.rows)
        body, header_length = infer_response(self.name, self.version, parsed, outputs)
        if header_length is None:
            return Response(200, body, rows=parsed.rows)
        return Response(200, body, b"application/octet-stream",
                        ((b"inference-header-content-length", str(header_length).encode()),),
                        rows=parsed.rows)

    async def predict(self, request: Request) -> Response:
        self.batcher.reading += 1
        try:
            body = await self.read_body(request, binary=False)
            await self.batcher.admit()
            columns, rows, violations = parse_instances(body, self.rules)
            self._enforce(violations, "instances[{row}]: ")
        finally:
            self.batcher.done_reading()
        scores = self.model.scores(await self.batcher.predict(columns, rows), rows)
        if self.request_log is not None and self.request_log.sampled(request.request_id):
            asyncio.get_running_loop().call_soon(self._log_sample, request.request_id, columns,
                                                 scores)
        return Response(200, predict_response(self.name, request.request_id, self.config.task,
                                              self.model.labels, scores), rows=rows)

    async def read_body(self, request: Request, binary: bool) -> bytes:
        """The whole body within max_body_bytes (checked before and while reading)."""
        _check_content_type(request.header(b"content-type"), binary)
        limit = self.config.max_body_bytes
        declared = request.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return _decode(body, request.header(b"content-encoding"), limit)


def _header_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise ClientError(400, "invalid_input", "Inference-Header-Content-Length must be an "
                          f"integer, got {value.decode(errors='replace')!r}")
    return int(value)


def _check_content_type(value: bytes | None, binary: bool) -> None:
    if value is None:
        return
    media = value.split(b";", 1)[0].strip().lower()
    if media == b"application/json" or (binary and media == b"application/octet-stream"):
        return
    raise ClientError(415, "content_type", "Content-Type must be application/json, got "
                      f"{value.decode(errors='replace')!r}")


def _decode(body: bytes, encoding: bytes | None, limit: int) -> bytes:
    """gzip/deflate request bodies (tritonclient can send them), bounded against zip bombs."""
    if encoding is None or encoding.strip().lower() in (b"", b"identity"):
        return body
    name = encoding.strip().lower()
    if name not in (b"gzip", b"deflate"):
        raise ClientError(415, "content_encoding", f"Content-Encoding "
                          f"{encoding.decode(errors='replace')!r} is not supported; use gzip, "
                          "deflate or none")
    inflater = zlib.decompressobj(31 if name == b"gzip" else 15)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ClientError(400, "malformed_body", f"the {name.decode()} body cannot be "
                          f"decompressed: {error}") from None
    if len(data) > limit:
        raise _too_large(len(data), limit, "decompressed ")
    return data


def _too_large(size: int, limit: int, what: str = "") -> ClientError:
    return ClientError(413, "body_too_large", f"the {what}request body is over the limit: "
                       f"{size} bytes > {limit} (serving.max_body_bytes)")


def _fail(status: int, kind: str, message: str) -> Handler:
    async def handler(request: Request) -> Response:
        raise ClientError(status, kind, message)
    return handler


def _not_allowed(method: str, path: str, allowed: str) -> Handler:
    error = ClientError(405, "method_not_allowed", f"{method} is not allowed on {path}; use "
                        f"{allowed}", ((b"allow", allowed.encode()),))

    async def handler(request: Request) -> Response:
        raise error
    return handler


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID when it is sane (for tracing across services), else a new one."""
    for key, value in headers:
        if key == b"x-request-id" and 0 < len(value) <= 128 and value.isascii() and (
                value.replace(b"-", b"").replace(b"_", b"").replace(b".", b"").isalnum()):
            return value.decode()
    return f"{_ids.getrandbits(128):032x}"


_ids = random.Random(os.urandom(32))
"""Request ids: 128 random bits from a generator seeded once per process, not uuid4's system
call per request (which also hands the GIL to the model's thread mid-request)."""
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def create_app() -> InferenceApp:
    """uvicorn factory for worker processes: config from the environment, model loaded here."""
    config = ServerConfig.from_json(os.environ[CONFIG_ENV])
    folder = os.environ.get(METRICS_DIR_ENV)
    return build_app(config, Path(folder) if folder else None,
                     access_log=os.environ.get("MLOPS_ACCESS_LOG", "1") == "1")


def build_app(config: ServerConfig, metrics_dir: Path | None = None,
              access_log: bool = True) -> InferenceApp:
    """Load and warm up the model; the app exists (and the port opens) only once it is ready."""
    model = ServedModel(config)
    model.warm_up(config.max_batch_size)
    return InferenceApp(config, model, metrics_dir, access_log)
