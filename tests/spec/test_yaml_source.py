from __future__ import annotations

import math

from mlops.spec.yaml_source import dotted, parse_yaml


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
    parsed = parse_yaml("a: 1\na: 2\nb: {x: 1, x: 2}\n", "f.yaml")
    assert [str(p) for p in parsed.problems] == [
        "f.yaml:2:1: a: duplicate key 'a' (first defined on line 1)",
        "f.yaml:3:11: b.x: duplicate key 'x' (first defined on line 3)",
    ]


def test_syntax_errors_are_located() -> None:
    assert [str(p) for p in parse_yaml("a: [1\nb: 2", "f.yaml").problems] == [
        "f.yaml:2:2: YAML syntax error: expected ',' or ']', but got ':'"]
    assert [str(p) for p in parse_yaml("a: 1\n---\nb: 2\n", "f.yaml").problems] == [
        "f.yaml:2:1: YAML syntax error: expected a single document in the stream, "
        "but found another document"]


def test_dotted() -> None:
    assert dotted(("deploy", "environments", 0, "name")) == "deploy.environments[0].name"


def test_block_scalars_read_as_yaml_says() -> None:
    text = "folded: >\n  a\n  b\n\n  c\nstrip: >-\n  x\n  y\nliteral: |\n  a\n  b\n"
    assert parse_yaml(text, "mlops.yaml").data == {"folded": "a b\nc\n", "strip": "x y",
                                                    "literal": "a\nb\n"}
