"""The HTTP-stack alternative measured against the plain ASGI app: the same model, parsing and
batching behind a Starlette route (uvicorn factory; config in MLOPS_SERVE_CONFIG).

It skips metrics and access logs, so it does strictly less work than `mlops serve`.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlops.serving.app import build_app
from mlops.serving.config import CONFIG_ENV, ServerConfig
from mlops.serving.protocol import parse_instances, predict_response


def create() -> Starlette:
    core = build_app(ServerConfig.from_json(os.environ[CONFIG_ENV]), access_log=False)

    async def predict(request: Request) -> Response:
        columns, rows, _ = parse_instances(await request.body(), core.rules)
        scores = core.model.scores(await core.batcher.predict(columns, rows), rows)
        body = predict_response(core.name, "-", core.config.task, core.model.labels, scores)
        return Response(body, media_type="application/json")

    async def ping(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/ping", ping)])
