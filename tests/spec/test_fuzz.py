"""Mutated specs are either valid or rejected with located messages: never a crash.

Runs 1,000 examples per property under CI=true (3,000 in all; the same ones on every run, so more
only costs time: `--hypothesis-profile=explore` searches new ones), a few hundred locally; hostile
documents (alias bombs, oversized files) 100 each under CI=true. Work and memory are asserted by
counting built values and by a child's peak RSS under an address-space cap, never by timing.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlops.spec.errors import SpecError
from mlops.spec.limits import MAX_ALIAS_NODES, SIZE_VARIABLE
from mlops.spec.loader import validate_text
from mlops.spec.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "mlops.yaml").read_text()
BASE: dict[str, Any] = YAML(typ="safe").load(EXAMPLE)
EXAMPLES = 1000 if os.environ.get("CI") == "true" else 300
FUZZ = settings(max_examples=EXAMPLES)  # the rest from the profile (tests/conftest.py)

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


# --- hostile documents: alias bombs and huge files end in one located error, with bounded work ---

BOMB_EXAMPLES = 100 if os.environ.get("CI") == "true" else 25


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """A document whose aliases (in lists, mappings or '<<' merges) multiply at every level."""
    levels, fanout = draw(st.integers(1, 12)), draw(st.integers(1, 16))
    kind = draw(st.sampled_from(["list", "mapping", "merge"]))
    lines = ["l0: &l0 {a: 1, b: [x, y]}"]
    for level in range(1, levels):
        refs = [f"*l{level - 1}"] * fanout
        if kind == "list":
            body = f"[{', '.join(refs)}]"
        elif kind == "mapping":
            body = "{" + ", ".join(f"k{i}: {ref}" for i, ref in enumerate(refs)) + "}"
        else:
            body = "{" + f"<<: [{', '.join(refs)}], " + \
                   ", ".join(f"k{level}_{i}: {refs[0]}" for i in range(fanout)) + "}"
        lines.append(f"l{level}: &l{level} {body}")
    return "\n".join(lines) + "\n"


@settings(max_examples=BOMB_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(alias_bombs())
def test_alias_bombs_do_bounded_work(text: str) -> None:
    parsed = parse_yaml(text, "mlops.yaml")
    # Work is counted, not timed: every value built is recorded once in the source map, and
    # beyond the document's own values only MAX_ALIAS_NODES may come from aliases.
    written = text.count(":") + text.count(",") + text.count("[") + 1
    assert len(parsed.source.values) <= written + MAX_ALIAS_NODES + 1
    if parsed.data is None:
        (problem,) = parsed.problems
        assert problem.line >= 1 and "aliases and '<<' merges expand" in problem.message
    _assert_valid_or_located(text)


@settings(max_examples=BOMB_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(st.text(min_size=1, max_size=80), st.integers(1, 4096))
def test_an_oversized_file_is_located_where_it_crosses_the_limit(line: str, limit: int) -> None:
    text = (line + "\n") * (limit // (len(line) + 1) + 2)
    raw = text.encode("utf-8", "surrogatepass")
    with _size_limit(limit):
        (problem,) = parse_yaml(text, "mlops.yaml").problems
    assert problem.line == raw.count(b"\n", 0, limit) + 1
    assert problem.message.startswith("the file is larger than the")


def _size_limit(limit: int) -> contextlib.AbstractContextManager[None]:
    return mock.patch.dict(os.environ, {SIZE_VARIABLE: str(limit)})


def _validate_in_subprocess(spec: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """`mlops validate SPEC` in a child capped at 2 GiB of address space (far below what an
    unbounded expansion reaches, far above a normal run); returns the result and its peak RSS."""
    probe = (
        "import resource, subprocess, sys\n"
        "cap = 2 * 1024 ** 3\n"
        "limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
        "result = subprocess.run([sys.executable, '-m', 'mlops', 'validate', sys.argv[1]],\n"
        "                        preexec_fn=limit, capture_output=True, text=True, timeout=300)\n"
        "sys.stderr.write(result.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(result.returncode)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True,
                            text=True, timeout=600, env={**os.environ, "PYTHONPATH": ""})
    peak_kib = int(result.stdout.split()[-1])
    return result, peak_kib // 1024


BILLION_LAUGHS = "".join(
    ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9)])


def test_the_billion_laughs_ends_in_a_located_error_with_little_memory(tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_text(BILLION_LAUGHS)
    result, peak_mib = _validate_in_subprocess(spec)
    assert result.returncode == 1
    assert result.stderr == (
        f"{spec}:4:1: l3[7]: aliases and '<<' merges expand this document to more than 10,000 "
        "values; share smaller blocks (this limit stops 'billion laughs' documents)\n")
    assert peak_mib < 256, peak_mib


def test_a_5_mb_spec_ends_in_a_located_error_with_little_memory(tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    line = "    col_{}: {{dtype: float, min: 0, max: 10}}\n"
    body = "".join(line.format(i) for i in range(120_000))
    spec.write_text("version: 1\nname: big\ndata:\n  schema:\n" + body)
    assert spec.stat().st_size > 5 * 1024 * 1024
    result, peak_mib = _validate_in_subprocess(spec)
    raw = spec.read_bytes()
    limit = 1024 * 1024
    line_no = raw.count(b"\n", 0, limit) + 1
    col = limit - raw.rfind(b"\n", 0, limit)
    assert result.returncode == 1
    assert result.stderr == (
        f"{spec}:{line_no}:{col}: the file is larger than the 1 MiB (1,048,576 bytes) a spec may "
        "have; reading stopped here (set MLOPS_SPEC_MAX_BYTES to allow more)\n")
    assert peak_mib < 256, peak_mib
