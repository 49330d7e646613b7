"""Read YAML into plain Python data plus the position of every key and value.

We walk ruamel.yaml's node tree ourselves instead of using its constructor so that every
duplicate key is reported (naming both lines), and every value's `line:col` is remembered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic

KeyPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"


@dataclass
class SourceMap:
    """Positions (1-based line, col) of values and keys, by key path."""

    file: str
    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: KeyPath, *, key: bool = False) -> tuple[int, int]:
        """Position of the deepest known prefix of `path` (a missing key points at its parent)."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in table:
                return table[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)

    def diagnostic(self, path: KeyPath, message: str, *, key: bool = False) -> Diagnostic:
        line, col = self.position(path, key=key)
        return Diagnostic(self.file, line, col, dotted(path), message)


def dotted(path: KeyPath) -> str:
    """('data', 'schema', 'x', 'max') -> 'data.schema.x.max'; list items as [i]."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class Parsed:
    data: Any
    source: SourceMap
    problems: list[Diagnostic]


def parse_yaml(text: str, file: str) -> Parsed:
    """Parse one YAML document; syntax errors come back as diagnostics, never exceptions."""
    source = SourceMap(file)
    yaml = YAML(typ="rt")
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or error.context or "invalid YAML"
        if error.context and problem.startswith("but "):
            problem = f"{error.context}, {problem}"
        problem = _plain_words(problem)
        return Parsed(None, source, [Diagnostic(file, line, col, "", f"YAML syntax error: {problem}")])
    except YAMLError as error:
        position = getattr(error, "position", None)
        line, col = _offset_to_line_col(text, position) if isinstance(position, int) else (1, 1)
        reason = str(error).splitlines()[0] if str(error) else "invalid YAML"
        return Parsed(None, source, [Diagnostic(file, line, col, "", f"YAML syntax error: {reason}")])
    if node is None:
        return Parsed(None, source, [])
    builder = _Builder(source)
    data = builder.build(node, ())
    return Parsed(data, source, builder.problems)


_PLAIN = (
    ("'\\t' that cannot start any token", "found a tab; YAML indents with spaces only"),
    ("<block end>", "bad indentation: this line does not line up with the keys above it"),
)


def _plain_words(problem: str) -> str:
    """ruamel's parser vocabulary ('<block end>') in words a spec author knows."""
    for marker, words in _PLAIN:
        if marker in problem:
            return words
    return problem


def _offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


class _Builder:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Diagnostic] = []

    def build(self, node: Node, path: KeyPath) -> Any:
        self.source.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return _scalar(node)

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, ScalarNode):
                self.problems.append(Diagnostic(self.source.file, line, col, dotted(path),
                                                "expected a plain key, got a nested structure"))
                continue
            key = str(_scalar(key_node))
            child = (*path, key)
            if key in first_line:
                self.problems.append(Diagnostic(
                    self.source.file, line, col, dotted(child),
                    f"duplicate key '{key}' (first defined on line {first_line[key]})",
                ))
                continue
            first_line[key] = line
            self.source.keys[child] = (line, col)
            result[key] = self.build(value_node, child)
        return result


def _scalar(node: ScalarNode) -> Any:
    """Core-schema scalars (YAML 1.2): 'yes' stays a string, 0x1F is an int."""
    value = node.value
    tag_name = str(getattr(node.tag, "value", node.tag))
    if node.style == ">":  # ruamel's composer marks each fold with a BEL for round-tripping
        return value.replace("\a", "")
    if node.style in ("'", '"', "|") or tag_name in ("None", f"{_TAG}str"):
        return value
    if tag_name == f"{_TAG}null":
        return None
    if tag_name == f"{_TAG}bool":
        return value.lower() == "true"
    if tag_name == f"{_TAG}int":
        text = value.replace("_", "")
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if text.lower().lstrip("+-").startswith(prefix):
                sign = -1 if text.startswith("-") else 1
                return sign * int(text.lstrip("+-")[2:], base)
        return int(text)
    if tag_name == f"{_TAG}float":
        lowered = value.lower().replace("_", "")
        if lowered in (".inf", "+.inf"):
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        return float(lowered)
    return value
