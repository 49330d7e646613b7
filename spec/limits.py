"""How much YAML the loader accepts: a spec is untrusted input (a pull request from a fork).

Each limit ends a hostile or broken file with one located error in well under a second and a few
MiB, long before it could exhaust time, memory or the Python stack:

- size: a file above `MLOPS_SPEC_MAX_BYTES` (default 1 MiB) is not parsed at all;
- depth: collections nested deeper than MAX_DEPTH (directly or through aliases) are refused, so
  neither ruamel's recursive composer nor our builder can overflow the stack;
- aliases: materialising more than MAX_ALIAS_NODES values through aliases and merge keys is
  refused, which stops "billion laughs" documents (a few hundred bytes that expand to 10^9 values)
  as Kubernetes' YAML decoder and PyYAML-based tools do.

A real spec is a few KiB, a few levels deep, and shares blocks of tens of values.
"""

from __future__ import annotations

import os
import re

from mlops.core.errors import UsageError

from .errors import Diagnostic

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a spec needs about 6)."""
MAX_ALIAS_NODES = 10_000
"""Most values built again through aliases and `<<` merge keys in one document."""
DEFAULT_MAX_BYTES = 1024 * 1024
SIZE_VARIABLE = "MLOPS_SPEC_MAX_BYTES"

_SIZE = re.compile(r"^\s*(\d+)\s*(Ki|Mi|Gi)?\s*$")
_FACTORS = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def max_bytes() -> int:
    """The size limit: `MLOPS_SPEC_MAX_BYTES` (bytes, or with Ki/Mi/Gi) or 1 MiB."""
    raw = os.environ.get(SIZE_VARIABLE)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BYTES
    match = _SIZE.match(raw)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"{SIZE_VARIABLE}: expected a positive size like 1048576, 512Ki or 2Mi, "
                         f"got {raw!r}")
    return int(match.group(1)) * _FACTORS[match.group(2)]


def describe_size(size: int) -> str:
    """1048576 -> '1 MiB (1,048,576 bytes)'."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"


def oversize(raw: bytes, file: str, limit: int) -> Diagnostic | None:
    """A diagnostic at the first byte past `limit`, or None when `raw` fits."""
    if len(raw) <= limit:
        return None
    line = raw.count(b"\n", 0, limit) + 1
    col = limit - (raw.rfind(b"\n", 0, limit) + 1) + 1
    return Diagnostic(file, line, col, "",
                      f"the file is larger than the {describe_size(limit)} a spec may have; "
                      f"reading stopped here (set {SIZE_VARIABLE} to allow more)")
