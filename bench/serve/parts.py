"""Where a request's CPU goes inside `mlops serve`'s app: each step of the request path timed on
its own (thread CPU time, best of 15 rounds), then the whole app without HTTP.

The server's CPU per request (bench/serve/cpu_per_request.py) minus the whole app's here is what
the HTTP layer (uvicorn, httptools, uvloop, the socket) costs. Run with PYTHONPATH=<tree> to
time another version of the code (see cpu_per_request.py).

    python -m bench.serve.parts churn-64 forest-64
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.serve.cpu import load_average
from bench.serve.workloads import Workload, workloads

ROUNDS = 15
PER_ROUND = 100


def best(step: Callable[[], object], per_round: int = PER_ROUND) -> float:
    """Microseconds of thread CPU per call: the least over ROUNDS rounds (other jobs only add)."""
    step()
    least = float("inf")
    for _ in range(ROUNDS):
        started = time.thread_time()
        for _ in range(per_round):
            step()
        least = min(least, (time.thread_time() - started) / per_round)
    return least * 1e6


def parts(workload: Workload) -> dict[str, float]:
    from mlops.serving import logs, protocol
    from mlops.serving.app import build_app
    from mlops.serving.config import ServerConfig
    from mlops.spec.loader import load_spec

    config = ServerConfig.from_spec(load_spec(workload.spec, check_files=False)).with_overrides(
        model=workload.model, request_log_dir=tempfile.mkdtemp(prefix="bench-parts-"))
    app = build_app(config, access_log=True)
    body = json.dumps(workload.v2_body()).encode()
    parsed = protocol.parse_infer(body, None, app.inputs, app.model.outputs, app.rules)
    feed = app.model.model.feed(parsed.columns)
    outputs = app.model.run(parsed.columns)
    scores = app.model.scores(outputs, parsed.rows)
    path = f"/v2/models/{workload.served_name}/infer"
    found = {
        "parse: orjson alone": best(lambda: protocol.parse_json(body)),
        "parse: whole (orjson + tensors -> raw columns)": best(lambda: protocol.parse_infer(
            body, None, app.inputs, app.model.outputs, app.rules)),
        "schema check": best(lambda: app.rules.check_columns(parsed.columns, "row {row}, ")),
        "model: feed (raw columns -> graph inputs)": best(lambda: app.model.model.feed(
            parsed.columns)),
        "model: session.run": best(lambda: app.model.model.run_feed(feed)),
        "metrics of the batch": best(lambda: app._observe(parsed.columns, parsed.rows, outputs)),
        "response JSON": best(lambda: protocol.infer_response(app.name, app.version, parsed,
                                                              outputs)),
        "access log line": best(lambda: logs.access(app.name, "POST", path, 200, 0.001, "x" * 32,
                                                    "127.0.0.1:5555", parsed.rows)),
    }
    if app.request_log is not None:
        logger = app.request_log
        found["request log: one sampled request's rows"] = best(
            lambda: app._log_sample("x" * 32, parsed.columns, scores), 10)
        chunks = logger.pending[-1:]
        found["request log: writing one request's rows"] = best(lambda: logger.sink.write(chunks),
                                                                10)
        logger.pending.clear()
    found.update(asyncio.run(_whole(app, body, path)))
    app.close()
    return found


async def _whole(app: Any, body: bytes, path: str) -> dict[str, float]:
    """The app's http() on one request at a time, model inline and via the worker thread."""
    scope = {"type": "http", "method": "POST", "path": path, "client": ("127.0.0.1", 5555),
             "headers": [(b"content-type", b"application/json")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    found: dict[str, float] = {}
    inline_seconds = app.batcher.inline_seconds
    for label, limit in (("inline", inline_seconds), ("model on the worker thread", 0.0)):
        app.batcher.inline_seconds = limit  # 0: no run is fast enough to stay on the loop
        least = float("inf")
        for _ in range(ROUNDS):
            started = time.process_time()
            for _ in range(PER_ROUND):
                await app.http(scope, receive, send)
            least = min(least, (time.process_time() - started) / PER_ROUND)
        found[f"whole app without HTTP, {label} (process CPU)"] = least * 1e6
    app.batcher.inline_seconds = inline_seconds
    return found


def main() -> None:
    stdout = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the access log's lines
    out = os.fdopen(stdout, "w")
    print(f"load average before: {load_average()}", file=out)
    for workload in workloads(sys.argv[1:] or ["churn-64", "forest-64"]):
        for name, micros in parts(workload).items():
            print(f"{workload.name}: {micros:8.1f} us  {name}", file=out, flush=True)
    print(f"load average after: {load_average()}", file=out)


if __name__ == "__main__":
    main()
