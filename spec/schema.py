"""JSON Schema of mlops.yaml, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import json
from typing import Any

from .models import Spec

SCHEMA_ID = "https://mlops-yaml.dev/schema/v1/mlops.schema.json"


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "mlops.yaml", **schema}


def json_schema_text() -> str:
    """Stable bytes: sorted keys, two-space indent, trailing newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
