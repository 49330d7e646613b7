"""Data locations as the spec writes them: a path relative to the spec's folder (a file, a folder
or a glob) or an object-store URI. Pure string rules, no pyarrow: `mlops validate` runs without the
data extras; `core.storage` opens the locations.
"""

from __future__ import annotations

import re
from pathlib import Path

SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss")
"""Object stores pyarrow reads; `file://` is not needed (a path is a local file)."""
URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
GLOB = re.compile(r"[*?\[]")


def scheme(location: str) -> str | None:
    """The URI scheme of `location` (`s3`...), or None for a path."""
    match = URI.match(location)
    return match.group(1).lower() if match else None


def check_location(value: str) -> str:
    """Spec validation of a data location: a relative path (glob allowed) or a supported URI.
    Remote locations are not opened here: validation needs no network and no credentials."""
    found = scheme(value)
    if found is None:
        return value
    if found not in SCHEMES:
        raise ValueError(f"unsupported URI scheme '{found}://'; expected a path relative to the "
                         "spec's folder or an s3://, gs:// or abfs:// URI")
    if not value[len(found) + 3:].strip("/"):
        raise ValueError(f"expected a bucket (and a prefix) after '{found}://', got {value!r}")
    return value


def local_exists(root: Path, location: str) -> bool | None:
    """Whether a local location names at least one file (None for a remote one, not checked)."""
    if scheme(location) is not None:
        return None
    if GLOB.search(location):
        return any(path.is_file() for path in root.glob(location))
    path = root / location
    return path.is_file() or (path.is_dir() and any(p.is_file() for p in path.rglob("*")))




def absolute(root: Path, location: str) -> str:
    """A location that no longer depends on the spec's folder: a URI as it is, a path under
    `root`."""
    return location if scheme(location) is not None else str(root / location)
