"""Read YAML into plain Python data plus the position of every key and value.

We walk ruamel.yaml's node tree ourselves instead of using its constructor so that every
duplicate key is reported (naming both lines), every value's `line:col` is remembered (a value
reached through an alias or a `<<` merge key keeps the position where it was written), and the
loader's limits (`limits.py`) hold however the document is built.

Composing is most of `mlops validate`'s time, and ruamel's round-trip scanner (pure Python,
gathering comments at every token) most of that: ~40 ms for the example spec. libyaml's parser
(ruamel.yaml.clibz, the `libyaml` extra) gives the same events with the same marks in ~1/4 of
the time, composed by ruamel's own composer and YAML 1.2 resolver. It is used only where it
agrees with the round-trip path (tests/spec/test_yaml_source.py compares both on fuzzed specs):
a document with a directive, a tab, a carriage return, a BOM or a Unicode line break, or with an
empty value (`key:` and nothing, which the two place differently), and any document libyaml
refuses, goes through the round-trip path, so every error is worded and located as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from .errors import Diagnostic
from .limits import MAX_ALIAS_NODES, MAX_DEPTH, max_bytes, oversize
from .yaml_syntax import syntax_diagnostic

KeyPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_MERGE = f"{_TAG}merge"

try:
    from _ruamel_yaml_clibz import CParser as _LibYAMLParser
except ImportError:  # not installed (the libyaml extra) or not CPython: round trip only
    _LibYAMLParser = None

# What libyaml (YAML 1.1) reads differently from ruamel's YAML 1.2 scanner, or marks
# differently: such documents take the round-trip path.
_ROUND_TRIP_ONLY = re.compile("^%|[\t\r\x85\u2028\u2029\ufeff]", re.MULTILINE)


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
    """Parse one YAML document; syntax errors and broken limits come back as diagnostics."""
    source = SourceMap(file)
    too_big = oversize(text.encode("utf-8", "surrogatepass"), file, max_bytes())
    if too_big is not None:
        return Parsed(None, source, [too_big])
    try:
        node = _compose(text)
    except YAMLError as error:
        return Parsed(None, source, [syntax_diagnostic(error, text, file)])
    if node is None:
        return Parsed(None, source, [])
    builder = _Builder(source)
    try:
        data = builder.build(node, (), 1)
    except _Refused as refused:
        line, col = source.position(refused.written_at, key=True)
        return Parsed(None, source, [Diagnostic(file, line, col, dotted(refused.path),
                                                refused.message)])
    return Parsed(data, source, builder.problems)


def _compose(text: str, *, libyaml: bool = True) -> Node | None:
    """The document's node tree: through libyaml where it agrees with the round-trip path,
    else (or when libyaml refuses the text) through the round-trip path, whose errors are the
    ones reported."""
    if libyaml and _LibYAMLParser is not None and not _ROUND_TRIP_ONLY.search(text):
        try:
            return _LibYAMLLoader(text).compose()
        except (YAMLError, _Disagrees):
            pass
    yaml = YAML(typ="rt")
    yaml.max_depth = MAX_DEPTH
    node: Node | None = yaml.compose(text)
    return node


class _Disagrees(Exception):
    """libyaml read a construct it places differently from ruamel: use the round-trip path."""


class _LibYAMLComposer(Composer):
    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        if node.value == "" and not node.style:
            raise _Disagrees
        return node


class _LibYAMLLoader:
    """The loader ruamel's Composer and VersionedResolver expect (`_parser`, `_resolver`,
    `max_depth`), with libyaml as the parser; YAML 1.2, as no directive reaches it."""

    max_depth = MAX_DEPTH

    def __init__(self, text: str) -> None:
        self._parser = _LibYAMLParser(text)
        self._resolver = VersionedResolver(loadumper=self)
        self._composer = _LibYAMLComposer(loader=self)

    def compose(self) -> Node | None:
        try:
            node: Node | None = self._composer.get_single_node()
            return node
        finally:
            self._parser.dispose()


class _Refused(Exception):
    """A limit was hit while building: the whole document is refused with one diagnostic.

    It is located where the offending alias is written: at its key, or for a list item at the
    list (an alias's own position is not kept by ruamel; its value's is the anchor's)."""

    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.written_at = path[:-1] if path and isinstance(path[-1], int) else path


@dataclass
class _Pair:
    """One entry of a mapping, explicit or brought in by a merge key."""

    key: str
    key_node: ScalarNode
    value_node: Node


class _Builder:
    """Nodes -> data. ruamel hands an alias back as the anchored node itself, so a node met a
    second time is an alias expansion: those are counted against MAX_ALIAS_NODES, and a node met
    again inside itself is a recursive alias."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Diagnostic] = []
        self._built: set[int] = set()
        self._open: set[int] = set()
        self._expanded = 0
        self._expansion: KeyPath | None = None

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        outermost = self._enter(node, path, depth)
        self.source.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path, depth)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index), depth + 1)
                        for index, item in enumerate(node.value)]
            assert isinstance(node, ScalarNode)
            return _scalar(node)
        finally:
            self._leave(node, outermost)

    def _enter(self, node: Node, path: KeyPath, depth: int) -> bool:
        """Check the limits before building `node` at `path`; True when this starts an alias
        expansion (a refusal inside it is reported where the alias is used, not at the anchor)."""
        identity = id(node)
        where = self._expansion or path
        if identity in self._open:
            raise _Refused(where, f"alias '*{node.anchor}' refers to a value that contains it; "
                                  "a spec cannot nest a block inside itself")
        if depth > MAX_DEPTH:
            raise _Refused(where, f"nested more than {MAX_DEPTH} levels deep (counting aliases); "
                                  "a spec needs only a few")
        outermost = False
        if identity in self._built:
            self._expanded += 1
            if self._expanded > MAX_ALIAS_NODES:
                raise _Refused(where, "aliases and '<<' merges expand this document to more "
                                      f"than {MAX_ALIAS_NODES:,} values; share smaller blocks "
                                      "(this limit stops 'billion laughs' documents)")
            outermost = self._expansion is None
            if outermost:
                self._expansion = path
        self._built.add(identity)
        self._open.add(identity)
        return outermost

    def _leave(self, node: Node, outermost: bool) -> None:
        self._open.discard(id(node))
        if outermost:
            self._expansion = None

    def _mapping(self, node: MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for pair in self._pairs(node, path, depth):
            child = (*path, pair.key)
            self.source.keys[child] = (pair.key_node.start_mark.line + 1,
                                       pair.key_node.start_mark.column + 1)
            result[pair.key] = self.build(pair.value_node, child, depth + 1)
        return result

    def _pairs(self, node: MappingNode, path: KeyPath, depth: int) -> list[_Pair]:
        """The mapping's entries in written order. A `<<` entry stands for the merged mappings'
        keys at its place; keys written in the mapping itself win over merged ones, and earlier
        merged mappings over later ones (YAML's merge-key rule). Duplicates are reported."""
        own: dict[str, _Pair] = {}
        entries: list[_Pair | Node] = []
        for key_node, value_node in node.value:
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, ScalarNode):
                self.problems.append(Diagnostic(self.source.file, line, col, dotted(path),
                                                "expected a plain key, got a nested structure"))
            elif _tag(key_node) == _MERGE:
                entries.append(value_node)
            elif (key := str(_scalar(key_node))) in own:
                first = own[key].key_node.start_mark.line + 1
                self.problems.append(Diagnostic(
                    self.source.file, line, col, dotted((*path, key)),
                    f"duplicate key '{key}' (first defined on line {first})",
                ))
            else:
                own[key] = _Pair(key, key_node, value_node)
                entries.append(own[key])
        result: dict[str, _Pair] = {}
        for entry in entries:
            if isinstance(entry, _Pair):
                result[entry.key] = entry
                continue
            for pair in self._merged(entry, (*path, "<<"), depth + 1):
                if pair.key not in own and pair.key not in result:
                    result[pair.key] = pair
        return list(result.values())

    def _merged(self, value: Node, path: KeyPath, depth: int) -> list[_Pair]:
        """Entries a `<<` brings in: one mapping, or a list of mappings (earlier ones win)."""
        sources = value.value if isinstance(value, SequenceNode) else [value]
        pairs: list[_Pair] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                line, col = source.start_mark.line + 1, source.start_mark.column + 1
                self.problems.append(Diagnostic(
                    self.source.file, line, col, dotted(path),
                    "a '<<' merge key takes a mapping (usually an alias like *defaults) or a list "
                    "of mappings"))
                continue
            outermost = self._enter(source, path, depth)
            try:
                pairs.extend(self._pairs(source, path, depth))
            finally:
                self._leave(source, outermost)
        return pairs


def _tag(node: Node) -> str:
    return str(getattr(node.tag, "value", node.tag))


def _scalar(node: ScalarNode) -> Any:
    """Core-schema scalars (YAML 1.2): 'yes' stays a string, 0x1F is an int."""
    value = node.value
    tag_name = _tag(node)
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
