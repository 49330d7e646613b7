from __future__ import annotations

import math
import os
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops.core.errors import UsageError
from mlops.spec import yaml_source
from mlops.spec.limits import MAX_ALIAS_NODES, MAX_DEPTH, max_bytes
from mlops.spec.yaml_source import dotted, parse_yaml
from tests.spec.test_fuzz import damaged_text, mutated_specs


def _problems(text: str) -> list[str]:
    return [str(problem) for problem in parse_yaml(text, "f.yaml").problems]


def test_positions_of_keys_and_values() -> None:
    parsed = parse_yaml("a: 1\nb:\n  c: [x, y]\n", "f.yaml")
    assert parsed.data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert parsed.source.values[("b", "c", 1)] == (3, 10)
    assert parsed.source.keys[("b", "c")] == (3, 3)
    assert parsed.source.position(("b", "missing"), key=True) == (2, 1)


def test_yaml_12_scalars() -> None:
    parsed = parse_yaml("a: yes\nb: 0x1f\nc: .inf\nd: ~\ne: '1'\nf: 1_000\ng: false\n", "f.yaml")
    assert parsed.data == {"a": "yes", "b": 31, "c": math.inf, "d": None, "e": "1", "f": 1000,
                           "g": False}


def test_every_duplicate_is_reported() -> None:
    assert _problems("a: 1\na: 2\nb: {x: 1, x: 2}\n") == [
        "f.yaml:2:1: a: duplicate key 'a' (first defined on line 1)",
        "f.yaml:3:11: b.x: duplicate key 'x' (first defined on line 3)",
    ]


def test_dotted() -> None:
    assert dotted(("deploy", "environments", 0, "name")) == "deploy.environments[0].name"


def test_block_scalars_read_as_yaml_says() -> None:
    text = "folded: >\n  a\n  b\n\n  c\nstrip: >-\n  x\n  y\nliteral: |\n  a\n  b\n"
    assert parse_yaml(text, "mlops.yaml").data == {"folded": "a b\nc\n", "strip": "x y",
                                                    "literal": "a\nb\n"}


# --- syntax errors point at the construct that is broken, and say where parsing stopped ------


@pytest.mark.parametrize(("text", "message"), [
    ("a: [1\nb: 2", "f.yaml:1:4: YAML syntax error: this '[' is never closed (the parser gave up "
                    "at line 2, column 2: expected ',' or ']', but got ':')"),
    ("a:\n  b: [1, 2,\n", "f.yaml:2:6: YAML syntax error: this '[' is never closed (the parser "
                          "gave up at line 3, column 1: expected the node content, but found the "
                          "end of the file)"),
    ("a: [[1], [2\n", "f.yaml:1:10: YAML syntax error: this '[' is never closed (the parser gave "
                      "up at line 2, column 1: expected ',' or ']', but got the end of the file)"),
    ("a: {x: 1\nb: 2\n", "f.yaml:1:4: YAML syntax error: this '{' is never closed (the parser gave "
                         "up at line 2, column 2: expected ',' or '}', but got ':')"),
    ("a: {x: [1, 2}\n", "f.yaml:1:8: YAML syntax error: this '[' is never closed (the parser gave "
                        "up at line 1, column 13: expected ',' or ']', but got '}')"),
    ('a: "abc\nb: 2\n', "f.yaml:1:4: YAML syntax error: this quoted string is never closed (the "
                        "parser gave up at line 3, column 1: found the end of the file)"),
    ("a: 1\nb\nc: 2\n", "f.yaml:2:1: YAML syntax error: this key has no ':' after it (the parser "
                        "gave up at line 3, column 1: could not find expected ':')"),
    ("a: &\n", "f.yaml:1:4: YAML syntax error: malformed anchor (the parser gave up at line 1, "
               "column 5: expected alphabetic or numeric character, but found '\\n')"),
    ("a:\n  x: 1\n y: 2\n", "f.yaml:3:2: YAML syntax error: bad indentation: this line does not "
                            "line up with the keys above it (the block starts at line 1, column 1)"),
    ("a:\n\tb: 1\n", "f.yaml:2:1: YAML syntax error: found a tab; YAML indents with spaces only"),
    ("a: *x\n", "f.yaml:1:4: YAML syntax error: alias '*x' is used before an anchor '&x' defines it"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2:1: YAML syntax error: expected a single document in the "
                          "stream, but found another document"),
])
def test_syntax_errors_point_at_the_broken_construct(text: str, message: str) -> None:
    assert _problems(text) == [message]


def test_an_unclosed_bracket_is_found_however_far_the_parser_read() -> None:
    text = "a: [1,\n" + "".join(f"  {i},\n" for i in range(200))
    assert _problems(text) == [
        "f.yaml:1:4: YAML syntax error: this '[' is never closed (the parser gave up at line 202, "
        "column 1: expected the node content, but found the end of the file)"]


# --- anchors, aliases and merge keys -----------------------------------------------------------


MERGED = """\
x-resources: &resources {cpu: 500m, memory: 1Gi}
x-defaults: &defaults
  replicas: 2
  resources: *resources
environments:
  - <<: *defaults
    name: staging
    replicas: 3
  - name: production
    <<: [*defaults, {approval: required, replicas: 9}]
"""


def test_merge_keys_bring_in_keys_the_mapping_does_not_set() -> None:
    parsed = parse_yaml(MERGED, "f.yaml")
    assert parsed.problems == []
    staging, production = parsed.data["environments"]
    assert staging == {"replicas": 3, "resources": {"cpu": "500m", "memory": "1Gi"},
                       "name": "staging"}
    # Written order, merged keys at the '<<'; earlier merged mappings win over later ones.
    assert list(production) == ["name", "replicas", "resources", "approval"]
    assert production["replicas"] == 2


def test_merged_and_aliased_values_keep_the_position_where_they_are_written() -> None:
    source = parse_yaml(MERGED, "f.yaml").source
    assert source.values[("environments", 0, "replicas")] == (8, 15)  # its own key wins
    assert source.values[("environments", 1, "replicas")] == (3, 13)  # from x-defaults
    assert source.keys[("environments", 1, "resources")] == (4, 3)
    assert source.values[("environments", 1, "resources", "cpu")] == (1, 31)
    assert source.values[("environments", 1, "approval")] == (10, 32)


def test_a_merge_key_needs_mappings() -> None:
    assert _problems("a: {<<: 5}\n") == [
        "f.yaml:1:9: a.<<: a '<<' merge key takes a mapping (usually an alias like *defaults) or "
        "a list of mappings"]


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    assert parse_yaml("a: {'<<': 1}\n", "f.yaml").data == {"a": {"<<": 1}}


# --- limits: a hostile document ends in one located error, quickly ----------------------------


def billion_laughs(levels: int = 9) -> str:
    """The classic: ten aliases per level, 10**levels values from a few hundred bytes."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_alias_expansion_is_bounded() -> None:
    parsed = parse_yaml(billion_laughs(), "f.yaml")
    assert parsed.data is None
    assert [str(p) for p in parsed.problems] == [
        f"f.yaml:4:1: l3[7]: aliases and '<<' merges expand this document to more than "
        f"{MAX_ALIAS_NODES:,} values; share smaller blocks (this limit stops 'billion laughs' "
        "documents)"]


def test_sharing_a_block_many_times_is_fine() -> None:
    text = "x: &x {cpu: 1, memory: 2}\nenvs:\n" + "".join(f"  - {{<<: *x, n: {i}}}\n"
                                                          for i in range(200))
    assert parse_yaml(text, "f.yaml").problems == []


def test_a_recursive_alias_is_refused() -> None:
    assert _problems("a: &a [1, *a]\n") == [
        "f.yaml:1:1: a[1]: alias '*a' refers to a value that contains it; a spec cannot nest a "
        "block inside itself"]
    assert _problems("a: &a {b: 1, <<: *a}\n") == [
        "f.yaml:1:1: a.<<: alias '*a' refers to a value that contains it; a spec cannot nest a "
        "block inside itself"]


def test_deep_nesting_is_refused_before_the_stack_overflows() -> None:
    assert _problems("a: " + "[" * 100_000) == [
        f"f.yaml:1:{4 + MAX_DEPTH - 1}: YAML syntax error: nested more than {MAX_DEPTH} levels "
        "deep; a spec needs only a few"]


def test_deep_nesting_through_aliases_is_refused() -> None:
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH + 2)]
    assert _problems("\n".join(lines)) == [
        f"f.yaml:{MAX_DEPTH - 1}:1: a{MAX_DEPTH - 2}[0]: nested more than {MAX_DEPTH} levels deep "
        "(counting aliases); a spec needs only a few"]


def test_a_file_over_the_size_limit_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_SPEC_MAX_BYTES", "1Ki")
    text = "a: " + "x" * 20 + "\n" + "b: [" * 2000
    assert _problems(text) == [
        "f.yaml:2:1001: the file is larger than the 1 KiB (1,024 bytes) a spec may have; reading "
        "stopped here (set MLOPS_SPEC_MAX_BYTES to allow more)"]


@pytest.mark.parametrize(("value", "size"), [(None, 1024 * 1024), ("", 1024 * 1024),
                                             ("4096", 4096), ("2Mi", 2 * 1024 * 1024)])
def test_the_size_limit_is_configurable(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                        size: int) -> None:
    if value is None:
        monkeypatch.delenv("MLOPS_SPEC_MAX_BYTES", raising=False)
    else:
        monkeypatch.setenv("MLOPS_SPEC_MAX_BYTES", value)
    assert max_bytes() == size


@pytest.mark.parametrize("value", ["lots", "0", "1MB", "-5"])
def test_a_bad_size_limit_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MLOPS_SPEC_MAX_BYTES", value)
    with pytest.raises(UsageError, match="MLOPS_SPEC_MAX_BYTES: expected a positive size like "
                                         "1048576, 512Ki or 2Mi"):
        max_bytes()


# --- libyaml and the round-trip path agree on every document libyaml is given ---------------

AGREEMENT = settings(max_examples=200 if os.environ.get("CI") == "true" else 60)


def _outcome(text: str) -> tuple[str, dict[Any, Any], dict[Any, Any], list[str]]:
    parsed = parse_yaml(text, "f.yaml")
    return (repr(parsed.data), parsed.source.values, parsed.source.keys,
            [str(problem) for problem in parsed.problems])


def _assert_paths_agree(text: str) -> None:
    """parse_yaml through libyaml (where it is used) equals parse_yaml through the round-trip
    path alone: the same data, positions and problems, and the same syntax error."""
    fast = _outcome(text)
    with mock.patch.object(yaml_source, "_LibYAMLParser", None):
        assert fast == _outcome(text)


def test_libyaml_is_installed_where_ci_runs() -> None:
    if os.environ.get("CI") == "true":
        assert yaml_source._LibYAMLParser is not None, "pip install -e '.[libyaml]'"


@pytest.mark.parametrize("text", [
    "a: >\n  folded\n  text\n\n  more\nb: |-\n  kept\n",
    "a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n", "a: 'it''s'\nb: \"\\u00e9\"\nc: é\n",
    "%YAML 1.1\n---\na: yes\n", "a: 1\n\tb: 2\n", "a:\nb: 1\n", "{a: , b: 1}\n", "a: 1\r\nb: [x,\r\n  y]\r\n",
    "a: [1, 2\n", "a: 1\n---\nb: 2\n", "[" * (MAX_DEPTH + 5), "a: *missing\n",
])
def test_libyaml_and_the_round_trip_path_agree(text: str) -> None:
    _assert_paths_agree(text)


@AGREEMENT
@given(st.one_of(mutated_specs(), damaged_text(),
                 st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))))
def test_libyaml_and_the_round_trip_path_agree_on_fuzzed_specs(text: str) -> None:
    _assert_paths_agree(text)
