"""Mutated specs are either valid or rejected with located messages: never a crash.

Runs 2,000 examples per property under CI=true (6,000 in all), a few hundred locally.
"""

from __future__ import annotations

import copy
import io
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlops.spec.errors import SpecError
from mlops.spec.loader import validate_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "mlops.yaml").read_text()
BASE: dict[str, Any] = YAML(typ="safe").load(EXAMPLE)
EXAMPLES = 2000 if os.environ.get("CI") == "true" else 300
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["20s", "500m", "512Mi", ">= 0.9", "csv", "psi", "0 * * * *"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


PATHS = _paths(BASE)


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        try:
            parent = _parent(data, path)
            key = path[-1]
            parent[key]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["delete", "replace", "rename", "wrap"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(values)
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(key)
        else:
            parent[key] = [parent[key]]
    stream = io.StringIO()
    YAML(typ="safe").dump(data, stream)
    return stream.getvalue()


@st.composite
def damaged_text(draw: st.DrawFn) -> str:
    lines = EXAMPLE.splitlines()
    index = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["indent", "dedent", "junk", "truncate", "insert"]))
    if action == "indent":
        lines[index] = " " * draw(st.integers(1, 3)) + lines[index]
    elif action == "dedent":
        lines[index] = lines[index].lstrip()
    elif action == "junk":
        lines[index] = draw(st.text(max_size=20))
    elif action == "truncate":
        lines = lines[:index]
    else:
        lines.insert(index, draw(st.sampled_from(["- x", "a: [", "{", ": :", "&a *b", "\t"])))
    return "\n".join(lines)


def _assert_valid_or_located(text: str) -> None:
    try:
        validate_text(text, ROOT / "mlops.yaml", display="mlops.yaml", check_files=False)
    except SpecError as error:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.file == "mlops.yaml"
            assert diagnostic.line >= 1 and diagnostic.col >= 1
            assert diagnostic.message and "Traceback" not in diagnostic.message


@FUZZ
@given(mutated_specs())
def test_mutated_specs_are_valid_or_located(text: str) -> None:
    _assert_valid_or_located(text)


@FUZZ
@given(damaged_text())
def test_damaged_text_is_valid_or_located(text: str) -> None:
    _assert_valid_or_located(text)


@FUZZ
@given(st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")))
def test_random_junk_is_located(text: str) -> None:
    _assert_valid_or_located(text)
