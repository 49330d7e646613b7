"""`<output>/mlops.schema.json`: the spec's JSON Schema, beside the spec for editors to use.

A spec points its editor at it with `# yaml-language-server: $schema=generated/mlops.schema.json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from mlops.spec.schema import json_schema_text

from ..plan import GeneratedFile, RenderContext


@cache
def schema_text() -> str:
    """The same for every spec, and costly to build: once per process (monorepos compile many)."""
    return json_schema_text()


class SchemaTarget:
    name = "schema"

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        return [GeneratedFile(ctx.output("mlops.schema.json"), schema_text(), ("version",))]


TARGET = SchemaTarget()
