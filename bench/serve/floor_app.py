"""The least a Python ASGI server on `mlops serve`'s stack can do per v2 request: the floor that
bench/serve/floor.py measures mlops and MLServer against.

uvicorn with httptools and uvloop (mlops' stack), one process, no access log; per request it
reads the body, decodes it with orjson, turns each tensor into the session's feed as the peers
do (onnx_feeds.py), runs the model and answers with orjson. Nothing else: no validation, no error
mapping, no schema check, no metrics, no logs, no micro-batching. Not a server anyone should run;
a measuring stick for what the HTTP stack, the JSON and the model cost by themselves.

    BENCH_MODEL=model.onnx BENCH_NAME=forest python -m uvicorn bench.serve.floor_app:app \
        --http httptools --loop uvloop --no-access-log --port 8080
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson

from bench.serve.onnx_feeds import feeds, open_session

Message = dict[str, Any]
SESSION = open_session(os.environ["BENCH_MODEL"])
READY = f"/v2/models/{os.environ['BENCH_NAME']}/ready"


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[Message]],
              send: Callable[[Message], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["method"] == "GET":
        status, answer = (200, b"{}") if scope["path"] == READY else (404, b"{}")
    else:
        tensors = {t["name"]: np.asarray(t["data"]).reshape(t["shape"])
                   for t in orjson.loads(body)["inputs"]}
        probabilities = SESSION.run(["probabilities"], feeds(SESSION, tensors))[0]
        status, answer = 200, orjson.dumps({"outputs": [{
            "name": "probabilities", "shape": list(probabilities.shape), "datatype": "FP32",
            "data": probabilities.ravel().tolist()}]})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})
