"""A small block-style YAML emitter for plain data (dicts, lists, str, int, float, bool, None).

Targets that build data (rather than templates) emit it here: byte-stable, insertion-ordered, and
about 20x faster than ruamel.yaml's pure-Python dumper, which dominated compile time of large
monorepos. A round-trip property test parses the output back with ruamel.yaml.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def dump(data: Mapping[str, object]) -> str:
    """Block YAML of a mapping: two-space indents, list items indented under their key."""
    if not data:
        return "{}\n"
    lines: list[str] = []
    _mapping(data, 0, lines)
    return "\n".join(lines) + "\n"


def scalar(value: object) -> str:
    """One scalar as YAML 1.2 reads it back: quoted unless it is an unambiguous plain word."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        if value.isprintable():
            return "'" + value.replace("'", "''") + "'"
        return _double_quoted(value)
    raise TypeError(f"cannot emit {type(value).__name__} as YAML")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _yaml_printable(char: str) -> bool:
    """YAML 1.2's c-printable set less its line breaks (NEL, U+2028/9 fold inside quotes)."""
    code = ord(char)
    return (0x20 <= code <= 0x7E or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
            or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF)


def _double_quoted(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _yaml_printable(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _mapping(data: Mapping[str, object], indent: int, lines: list[str],
             first_prefix: str | None = None) -> None:
    for index, (key, value) in enumerate(data.items()):
        prefix = first_prefix if index == 0 and first_prefix is not None else " " * indent
        head = f"{prefix}{scalar(key)}:"
        _value(value, head, indent, lines)


def _value(value: object, head: str, indent: int, lines: list[str]) -> None:
    if isinstance(value, Mapping) and value:
        lines.append(head)
        _mapping(value, indent + 2, lines)
    elif isinstance(value, Sequence) and not isinstance(value, str) and value:
        lines.append(head)
        _sequence(value, indent + 2, lines)
    elif isinstance(value, Mapping):
        lines.append(f"{head} {{}}")
    elif isinstance(value, Sequence) and not isinstance(value, str):
        lines.append(f"{head} []")
    else:
        lines.append(f"{head} {scalar(value)}")


def _sequence(items: Sequence[object], indent: int, lines: list[str]) -> None:
    dash = " " * indent + "- "
    for item in items:
        if isinstance(item, Mapping) and item:
            _mapping(item, indent + 2, lines, first_prefix=dash)
        else:
            _value(item, dash.rstrip(), indent, lines)
