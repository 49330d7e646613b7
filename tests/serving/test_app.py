"""The app's own order of work within a request (no server: `app.http` on one request)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from mlops.serving.app import build_app
from mlops.serving.config import ServerConfig
from mlops.spec.loader import load_spec
from tests.serving.serve_helpers import make_project


def test_the_response_goes_out_before_the_batch_is_counted_and_the_request_logged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Metrics and the request log are bookkeeping: a client never waits for them."""
    spec = make_project(tmp_path, serving={"port": 8080, "request_log": {
        "path": str(tmp_path / "requests"), "sample_rate": 1.0}})
    app = build_app(ServerConfig.from_spec(load_spec(spec, check_files=False)),
                    access_log=False)
    assert app.request_log is not None
    events: list[str] = []
    count, log = app.metrics.batch, app.request_log.add

    def counted(*args: Any) -> None:
        events.append("counted")
        count(*args)

    def logged(*args: Any) -> None:
        events.append("logged")
        log(*args)

    monkeypatch.setattr(app.metrics, "batch", counted)
    monkeypatch.setattr(app.request_log, "add", logged)
    body = json.dumps({"inputs": [{"name": app.inputs[0].info.name, "shape": [1, 4],
                                   "datatype": "FP32", "data": [0.1, 0.2, 0.3, 0.4]}]}).encode()
    scope = {"type": "http", "method": "POST", "path": "/v2/models/tiny/infer",
             "headers": [(b"content-type", b"application/json")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            events.append(f"sent {json.loads(message['body'])['outputs'][0]['shape']}")

    async def one_request() -> None:
        await app.http(scope, receive, send)
        for _ in range(3):
            await asyncio.sleep(0)

    try:
        asyncio.run(one_request())
    finally:
        app.close()
    assert events == ["sent [1]", "counted", "logged"]
