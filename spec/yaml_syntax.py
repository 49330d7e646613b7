"""YAML syntax errors as one located diagnostic, pointing at the construct that is broken.

ruamel reports where its parser gave up, which for an unclosed `[` or quote is often the end of
the file. An author needs the place they wrote: the diagnostic points at the unclosed bracket,
quote or key (or, for bad indentation, at the offending line) and names where parsing stopped.
"""

from __future__ import annotations

import re

from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, StreamMark, YAMLError
from ruamel.yaml.tokens import (
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
)

from .errors import Diagnostic
from .limits import MAX_DEPTH

Position = tuple[int, int]

_PLAIN = (
    ("'\\t' that cannot start any token", "found a tab; YAML indents with spaces only"),
    ("<block end>", "bad indentation: this line does not line up with the keys above it"),
)
_WORDS = (("'<stream end>'", "the end of the file"),
          ("unexpected end of stream", "the end of the file"))
_UNDEFINED_ALIAS = re.compile(r"^found undefined alias '(.*)'$")
_UNCLOSED = {
    "while parsing a flow sequence": "this '[' is never closed",
    "while parsing a flow mapping": "this '{' is never closed",
    "while scanning a quoted scalar": "this quoted string is never closed",
    "while scanning a simple key": "this key has no ':' after it",
}
_BLOCK = ("while parsing a block mapping", "while parsing a block collection",
          "while parsing a block node")


def syntax_diagnostic(error: YAMLError, text: str, file: str) -> Diagnostic:
    """The located diagnostic for any error ruamel raises while composing `text`."""
    if isinstance(error, MaxDepthExceededError):
        line, col = _position(error.problem_mark) or (1, 1)
        return _diagnostic(file, (line, col), f"nested more than {MAX_DEPTH} levels deep; "
                                              "a spec needs only a few")
    if not isinstance(error, MarkedYAMLError):
        offset = getattr(error, "position", None)
        where = _offset_position(text, offset) if isinstance(offset, int) else (1, 1)
        reason = str(error).splitlines()[0] if str(error) else "invalid YAML"
        return _diagnostic(file, where, reason)
    problem = _words(error.problem or error.context or "invalid YAML")
    gave_up = _position(error.problem_mark) or _position(error.context_mark) or (1, 1)
    context = error.context or ""
    construct = _position(error.context_mark)
    if context == "while parsing a flow node" and "end of the file" in problem:
        bracket = _innermost_open_bracket(text, gave_up)
        if bracket is not None:
            kind, construct = bracket
            return _at_construct(file, f"this '{kind}' is never closed", construct, gave_up, problem)
    if context in _UNCLOSED and construct is not None:
        return _at_construct(file, _UNCLOSED[context], construct, gave_up, problem)
    if context in _BLOCK and construct is not None and construct != gave_up:
        return _diagnostic(file, gave_up, f"{problem} (the block starts at line {construct[0]}, "
                                          f"column {construct[1]})")
    if context.startswith(("while scanning an ", "while scanning a ", "while parsing a tag")) \
            and construct is not None and context != "while scanning for the next token":
        thing = context.removeprefix("while scanning ").removeprefix("while parsing ")
        thing = thing.removeprefix("an ").removeprefix("a ")
        return _at_construct(file, f"malformed {thing}", construct, gave_up, problem)
    if context and problem.startswith("but "):
        problem = f"{context}, {problem}"
    return _diagnostic(file, gave_up, problem)


def _at_construct(file: str, what: str, construct: Position, gave_up: Position,
                  problem: str) -> Diagnostic:
    if construct == gave_up:
        return _diagnostic(file, construct, f"{what}: {problem}")
    return _diagnostic(file, construct, f"{what} (the parser gave up at line {gave_up[0]}, "
                                        f"column {gave_up[1]}: {problem})")


def _diagnostic(file: str, where: Position, message: str) -> Diagnostic:
    return Diagnostic(file, where[0], where[1], "", f"YAML syntax error: {message}")


def _words(problem: str) -> str:
    """ruamel's parser vocabulary ('<block end>', '<stream end>') in words a spec author knows."""
    for marker, words in _PLAIN:
        if marker in problem:
            return words
    for marker, words in _WORDS:
        problem = problem.replace(marker, words)
    if match := _UNDEFINED_ALIAS.match(problem):
        return f"alias '*{match.group(1)}' is used before an anchor '&{match.group(1)}' defines it"
    return problem


def _position(mark: StreamMark | None) -> Position | None:
    return (mark.line + 1, mark.column + 1) if mark is not None else None


def _offset_position(text: str, offset: int) -> Position:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _innermost_open_bracket(text: str, before: Position) -> tuple[str, Position] | None:
    """The last '[' or '{' still open where parsing stopped (scanned again, only on an error)."""
    stack: list[tuple[str, Position]] = []
    try:
        for token in YAML(typ="rt").scan(text):
            where = _position(token.start_mark) or (1, 1)
            if where >= before:
                break
            if isinstance(token, FlowSequenceStartToken | FlowMappingStartToken):
                stack.append(("[" if isinstance(token, FlowSequenceStartToken) else "{", where))
            elif isinstance(token, FlowSequenceEndToken | FlowMappingEndToken) and stack:
                stack.pop()
    except YAMLError:
        pass
    return stack[-1] if stack else None
