"""Where a spec's data lives: one file, a folder, a glob or a Hive-partitioned folder, on the local
disk or in object storage (`s3://`, `gs://`, `abfs://`), resolved to the files it holds.

pyarrow's filesystems do the reading, so credentials come from the usual environment (AWS_*,
GOOGLE_APPLICATION_CREDENTIALS, AZURE_*), never from the spec. A folder holds every file below it,
in path order, except hidden and bookkeeping files (`.crc`, `_SUCCESS`, `_common_metadata`): Spark
and pyarrow write those beside the data. The order depends on the names alone, so the parts cut from
the files, and everything computed from them, are the same wherever they are read.

Below a folder (or the fixed folder above a glob's first wildcard), `key=value` folders are Hive
partitions: each file carries the keys of its path, URI-decoded as Spark and pyarrow write them
(`__HIVE_DEFAULT_PARTITION__` is a null). Folders without `=` are only folders.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import pyarrow.fs as pafs

from .errors import MlopsError
from .locations import GLOB as _GLOB
from .locations import scheme
from .object_stores import STORE_ERRORS, describe, open_store


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: where pyarrow opens it, and how messages name it."""

    filesystem: pafs.FileSystem
    path: str
    display: str
    size: int
    partitions: tuple[tuple[str, str | None], ...] = ()
    """The Hive partition keys of the file's path below the dataset's folder, outermost first."""


def resolve(location: str, root: Path) -> list[DataFile]:
    """The files at `location` (relative to `root` unless a URI), in path order; raises
    MlopsError naming the location when nothing is there."""
    filesystem, path = open_location(location, root)
    remote = scheme(location) is not None
    glob = _glob_start(path)
    base: str | None = None
    if glob is not None:
        base, pattern = glob
        files = [info for info in _listing(filesystem, base, location)
                 if _matches(info.path, pattern)]
        if not files:
            raise MlopsError(f"{location}: no file matches the pattern")
    else:
        info = _info(filesystem, path, location)
        if info.type == pafs.FileType.File:
            files = [info]
        elif info.type == pafs.FileType.Directory:
            base = path
            files = _listing(filesystem, path, location)
            if not files:
                raise MlopsError(f"{location}: the folder holds no data files")
        else:
            raise MlopsError(f"{location}: file not found")
    found = []
    for info in sorted(files, key=lambda i: i.path):
        display = _display(info.path, location, root, remote)
        keys = partitions(info.path, base, display) if base is not None else ()
        found.append(DataFile(filesystem, info.path, display, info.size or 0, keys))
    return found


HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
"""The folder name Hive, Spark and pyarrow give a null partition value."""


class PartitionKeyError(MlopsError):
    """A Hive partition key of a file's path the dataset cannot use. The message names the file;
    a reader that knows which spec value named the dataset adds that value's place in the spec
    (`harness.data.fileset.located`), since the fix is often there (a schema dtype, a path)."""


def partitions(path: str, base: str, display: str) -> tuple[tuple[str, str | None], ...]:
    """The `key=value` folders of `path` below `base` (values URI-decoded, HIVE_NULL as None);
    raises PartitionKeyError naming the file when a key appears twice."""
    keys: dict[str, str | None] = {}
    for folder in PurePosixPath(path).relative_to(base).parts[:-1]:
        key, equals, value = folder.partition("=")
        if not equals or not key:
            continue
        key = unquote(key)
        if key in keys:
            raise PartitionKeyError(f"{display}: partition key '{key}' appears twice in the path")
        keys[key] = None if value == HIVE_NULL else unquote(value)
    return tuple(keys.items())


def open_location(location: str, root: Path) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding `location` and the path on it (`root`-relative for a local one;
    bucket/key for a URI, configured from the environment: `core.object_stores`)."""
    found = scheme(location)
    if found is None:
        return pafs.LocalFileSystem(), str((root / location).absolute())
    fixed = _GLOB.split(location)[0]
    try:
        filesystem, path = open_store(found, fixed)
    except MlopsError as error:
        raise MlopsError(f"{location}: cannot open the object store: {error}") from None
    if len(fixed) < len(location):
        path += ("/" if fixed.endswith("/") else "") + location[len(fixed):]
    return filesystem, path.rstrip("/")


def _glob_start(path: str) -> tuple[str, str] | None:
    """(the folder above the first wildcard, the whole pattern) for a glob; None otherwise."""
    if not _GLOB.search(path):
        return None
    parts = PurePosixPath(path).parts
    fixed = next(index for index, part in enumerate(parts) if _GLOB.search(part))
    return str(PurePosixPath(*parts[:fixed])), path


def _matches(path: str, pattern: str) -> bool:
    """A shell pattern matched part by part: `*` stays within one folder, as in a shell."""
    parts, wanted = PurePosixPath(path).parts, PurePosixPath(pattern).parts
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(part, glob) for part, glob in zip(parts, wanted, strict=True))


def _info(filesystem: pafs.FileSystem, path: str, location: str) -> pafs.FileInfo:
    try:
        info: pafs.FileInfo = filesystem.get_file_info(path)
    except STORE_ERRORS as error:
        raise MlopsError(f"{location}: cannot read: {describe(error)}") from None
    return info


def _listing(filesystem: pafs.FileSystem, base: str, location: str) -> list[pafs.FileInfo]:
    """Data files below `base`, hidden and bookkeeping files left out."""
    try:
        found = filesystem.get_file_info(pafs.FileSelector(base, recursive=True,
                                                           allow_not_found=True))
    except STORE_ERRORS as error:
        raise MlopsError(f"{location}: cannot list the folder: {describe(error)}") from None
    return [info for info in found if info.type == pafs.FileType.File
            and not any(part.startswith((".", "_"))
                        for part in PurePosixPath(info.path).relative_to(base).parts)]


def _display(found: str, location: str, root: Path, remote: bool) -> str:
    """A file as messages name it: the URI, or the path relative to the spec's folder."""
    if remote:
        return f"{scheme(location)}://{found}"
    relative = Path(found)
    return relative.relative_to(root.absolute()).as_posix() if relative.is_relative_to(
        root.absolute()) else found
