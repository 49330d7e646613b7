"""Typed scalars of the spec: durations, Kubernetes quantities, cron schedules, names.

Each type validates the text a user writes and keeps a JSON Schema so editors can check it too.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from . import cron
from .threshold import THRESHOLD_JSON_SCHEMA, Threshold

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"


def parse_duration(value: Any) -> float:
    """'20s', '5m', '1h', '250ms' or a bare number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '20s' or '5m', got {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"expected a positive duration, got {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            if seconds > 0:
                return seconds
    raise ValueError(f"expected a duration like '20s' or '5m', got {value!r}")


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest exact unit string ('90s', '5m', '2h')."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T|k)?$")
_MEMORY_FACTORS = {None: 1, "k": 1000, "K": 1000, "M": 10**6, "G": 10**9, "T": 10**12,
                   "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_millicores(value: str) -> int:
    """'500m' -> 500, '2' -> 2000, '0.5' -> 500."""
    match = _CPU.match(value)
    if not match:
        raise ValueError(f"expected a CPU quantity like '500m' or '2', got {value!r}")
    number = Decimal(match.group(1))
    return int(number if match.group(2) else number * 1000)


def memory_bytes(value: str) -> int:
    """'512Mi' -> 536870912."""
    match = _MEMORY.match(value)
    if not match:
        raise ValueError(f"expected a memory quantity like '512Mi' or '2Gi', got {value!r}")
    return int(Decimal(match.group(1)) * _MEMORY_FACTORS[match.group(2)])


def _check_cpu(value: Any) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _CPU.match(text) or cpu_millicores(text) <= 0:
        raise ValueError(f"expected a CPU quantity like '500m' or '2', got {value!r}")
    return text


def _check_memory(value: Any) -> str:
    if not isinstance(value, str) or not _MEMORY.match(value) or memory_bytes(value) <= 0:
        raise ValueError(f"expected a memory quantity like '512Mi' or '2Gi', got {value!r}")
    return value


def _check_cron(value: Any) -> str:
    """Five-field cron as GitHub Actions and Kubernetes CronJobs both accept it (see cron.py)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a cron schedule like '0 * * * *', got {value!r}")
    cron.parse(value)
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"type": "number"}],
         "description": "a duration like '20s', '5m', '1h' or a number of seconds"}
    ),
]
CpuQuantity = Annotated[
    str,
    BeforeValidator(_check_cpu),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": _CPU.pattern}, {"type": "number"}],
                    "description": "Kubernetes CPU quantity: '500m', '2'"}),
]
MemoryQuantity = Annotated[
    str,
    BeforeValidator(_check_memory),
    WithJsonSchema({"type": "string", "pattern": _MEMORY.pattern,
                    "description": "Kubernetes memory quantity: '512Mi', '2Gi'"}),
]
Cron = Annotated[
    str,
    BeforeValidator(_check_cron),
    WithJsonSchema({"type": "string", "description": "five-field cron schedule, e.g. '0 * * * *'"}),
]
Slug = Annotated[
    str,
    Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40),
]
ThresholdField = Annotated[Threshold, WithJsonSchema(THRESHOLD_JSON_SCHEMA)]


def _relative_path(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a file path, got an empty string")
    if value.startswith("/") or ".." in value.replace("\\", "/").split("/"):
        raise ValueError(
            f"expected a path relative to the spec's folder (no leading '/', no '..'), got {value!r}"
        )
    return value


RelPath = Annotated[str, AfterValidator(_relative_path)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


Item = TypeVar("Item")


def _no_duplicates(items: list[Item]) -> list[Item]:
    """Every repeat of an earlier item, as (first index, repeat index) pairs in the error."""
    first: dict[tuple[type, Any], int] = {}
    pairs: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        key = (type(item), item)
        if key in first:
            pairs.append((first[key], index))
        else:
            first[key] = index
    if pairs:
        raise PydanticCustomError("duplicate_item", "duplicate items {pairs}", {"pairs": pairs})
    return items


class _UniqueItems:
    """Tells editors (JSON Schema `uniqueItems`) what `_no_duplicates` enforces."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler.resolve_ref_schema(handler(schema))
        json_schema["uniqueItems"] = True
        return json_schema


Unique = Annotated[list[Item], AfterValidator(_no_duplicates), _UniqueItems()]
"""A list whose items are a set (alert actions, features, labels): a repeat is reported at the
repeat, naming where the item was first written."""
