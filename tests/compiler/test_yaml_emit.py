"""The emitter's output reads back as the same data (ruamel.yaml is the reference reader)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlops.compiler.yaml_emit import dump, scalar

keys = st.text(min_size=1, max_size=10)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["true", "no", "~", "0+10x60", "a: b", "- x", "#c", "'q'",
                                     'say "hi"', "line\nbreak", "", " lead", "{x}", "1e3", "null"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


def _read(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(keys, values, max_size=5))
def test_round_trip(data: dict[str, Any]) -> None:
    assert _read(dump(data)) == data


def test_layout_matches_the_rules_files() -> None:
    data = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": 'up{model="m"} > 0.5',
                                                 "labels": {"severity": "page"}}]}],
            "empty": [], "none": {}}
    assert dump(data) == (
        "groups:\n"
        "  - name: g\n"
        "    rules:\n"
        "      - alert: A\n"
        "        expr: 'up{model=\"m\"} > 0.5'\n"
        "        labels:\n"
        "          severity: page\n"
        "empty: []\n"
        "none: {}\n")


def test_special_floats() -> None:
    assert [scalar(v) for v in (math.inf, -math.inf, 0.05, 1e-05)] == [".inf", "-.inf", "0.05", "1e-05"]
    assert math.isnan(_read(dump({"x": math.nan}))["x"])
