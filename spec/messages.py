"""Turn pydantic's validation errors into 'expected X, got Y' sentences with suggestions."""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from .errors import Diagnostic
from .yaml_source import KeyPath, SourceMap


def describe_value(value: Any) -> str:
    """How a value is named in a message: strings quoted, containers by kind."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def suggest(word: str, choices: typing.Iterable[str]) -> str:
    """'; did you mean 'x'?' for a close match, else ''."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


_SIMPLE = {
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "finite_number": "expected a finite number",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def diagnostics_for(error: ErrorDetails, loc: KeyPath, root: type[BaseModel],
                    source: SourceMap) -> list[Diagnostic]:
    """The located diagnostics for one pydantic error at (cleaned) `loc`."""
    if error["type"] == "duplicate_item":
        found = []
        for first, repeat in (error.get("ctx") or {})["pairs"]:
            line, col = source.position((*loc, first))
            value = describe_value(error["input"][repeat])
            found.append(source.diagnostic((*loc, repeat), f"duplicate value {value} (first "
                                                          f"written at line {line}, column {col})"))
        return found
    message, at_key = message_for(error, root)
    return [source.diagnostic(loc, message, key=at_key)]


def message_for(error: ErrorDetails, root: type[BaseModel]) -> tuple[str, bool]:
    """The sentence for one pydantic error, and whether it points at the key (not the value)."""
    kind = error["type"]
    loc = tuple(error["loc"])
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"missing required key '{loc[-1]}'", True
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        return f"unknown key '{loc[-1]}'" + (suggest(str(loc[-1]), allowed) if allowed else ""), True
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'|(\d+)", str(ctx.get("expected", "")))
        names = [a or b for a, b in choices]
        listed = ", ".join(f"'{n}'" for n in names)
        hint = suggest(value, names) if isinstance(value, str) else ""
        return f"expected one of {listed}, got {describe_value(value)}{hint}", False
    if kind in _SIMPLE:
        return f"{_SIMPLE[kind]}, got {describe_value(value)}", False
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"expected a number {words} {ctx.get(key)}, got {describe_value(value)}", False
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s), got none", False
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} item(s)", False
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters, got {describe_value(value)}", False
    if kind == "string_pattern_mismatch":
        return f"expected {pattern_help(loc)}, got {describe_value(value)}", False
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, "), False
    return f"{error['msg']}, got {describe_value(value)}", False


def pattern_help(loc: tuple[Any, ...]) -> str:
    field = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if field == "image":
        return "an image repository like 'ghcr.io/acme/model' (lowercase, no tag)"
    if field == "python":
        return "a Python version like '3.11'"
    if field == "hosts":
        return ("a lowercase DNS name like 'model.example.com', optionally behind one wildcard "
                "label ('*.example.com')")
    return "lowercase letters, digits and '-', starting and ending with a letter or digit"


def allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Keys the model at `loc` accepts (by alias), by walking the annotations."""
    target: Any = root
    for part in loc:
        target = _step(target, part)
        if target is None:
            return []
    model = _model_in(target)
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_in(annotation) if not _is_container(annotation) else None
    if model is not None and isinstance(part, str):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    for candidate in _flatten(annotation):
        origin = get_origin(candidate)
        if origin is list and isinstance(part, int):
            return get_args(candidate)[0]
        if origin is dict and isinstance(part, str):
            return get_args(candidate)[1]
    return None


def _is_container(annotation: Any) -> bool:
    return any(get_origin(c) in (list, dict) for c in _flatten(annotation))


def _flatten(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [c for arg in get_args(annotation) for c in _flatten(arg)]
    if origin is typing.Annotated:
        return _flatten(get_args(annotation)[0])
    if origin is Literal:
        return []
    return [annotation]


_SCALAR_TAGS = {"str", "int", "float", "bool"}


def clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    """Drop pydantic's internal union and validator tags from a location (never a user's key)."""
    parts = [part for part in loc if isinstance(part, int) or "[" not in part]
    if len(parts) >= 2 and parts[-1] in _SCALAR_TAGS and isinstance(parts[-2], int):
        parts.pop()
    return tuple(parts)
