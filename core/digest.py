"""SHA-256 digests as every part shows them ('sha256:<hex>'): the server's model digest, the
image's build arguments and the reports' pins name a file the same way."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20
"""Models and data files can be large: read them 1 MiB at a time."""


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def file_digest(path: Path) -> tuple[str, int]:
    """The file's 'sha256:<hex>' and its size in bytes, in one read."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return f"sha256:{digest.hexdigest()}", size
