"""The jinja2 environment every target renders with.

StrictUndefined turns a missing variable into an error instead of an empty string in a manifest;
the loader chain lets a team override one template (same relative name) without forking the rest.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path

import jinja2

from mlops.compiler import yaml_emit
from mlops.spec.types import format_duration

PACKAGED_TEMPLATES = Path(__file__).resolve().parent / "templates"


def yaml_string(value: object) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML), safe for any text."""
    return json.dumps(str(value), ensure_ascii=False)


def python_literal(value: object) -> str:
    """A Python literal; strings in double quotes as `ruff format` writes them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def github_expression(expression: str) -> str:
    """`${{ expression }}` for GitHub Actions, without fighting jinja's own `{{ }}`."""
    return "${{ " + expression + " }}"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates cached per user in the temp folder (jinja checks each source's checksum
    and writes atomically): a cold `mlops compile` then skips most template compilation."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (RuntimeError, OSError):
        return None


def template_environment(overrides: Sequence[Path] = ()) -> jinja2.Environment:
    """Templates from the override folders first (in order), then the packaged ones."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(folder)) for folder in overrides]
    loaders.append(jinja2.FileSystemLoader(str(PACKAGED_TEMPLATES)))
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )
    environment.filters["yaml_string"] = yaml_string
    environment.filters["yaml_scalar"] = yaml_emit.scalar  # plain when YAML reads it as text
    environment.filters["shell_quote"] = shlex.quote
    environment.filters["python"] = python_literal
    environment.filters["duration"] = format_duration
    environment.globals["gh"] = github_expression
    return environment
