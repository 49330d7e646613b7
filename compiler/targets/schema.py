"""`<output>/mlops.schema.json`: the spec's JSON Schema, beside the spec for editors to use.

A spec points its editor at it with `# yaml-language-server: $schema=generated/mlops.schema.json`.
"""

from __future__ import annotations

from collections.abc import Sequence

from spec.schema import json_schema_text

from ..plan import GeneratedFile, RenderContext


class SchemaTarget:
    name = "schema"

    def render(self, ctx: RenderContext) -> Sequence[GeneratedFile]:
        return [GeneratedFile(ctx.output("mlops.schema.json"), json_schema_text(), ("version",))]


TARGET = SchemaTarget()
