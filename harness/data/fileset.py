"""A dataset of many files read as one: the parts of every file, in path order, rows numbered
through the whole set, and messages that name the file a row is in.

`core.storage` resolves the spec's location (a file, a folder, a glob, a Hive-partitioned folder;
local or in object storage) to its files; each file is a `datasets.Dataset` and cuts its own parts,
so the parts depend on the data alone. Part indices run through the set, which keeps row keys (and
so the drift sample) distinct across files.

Every file of a Hive-partitioned set must have the same keys in its path as the first: a key the
spec declares is checked when the set opens, one asked for by name when its parts are cut.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from mlops.core.errors import MlopsError
from mlops.core.locations import scheme
from mlops.core.storage import DataFile, PartitionKeyError, resolve
from mlops.spec.loader import LoadedSpec
from mlops.spec.models import ColumnType
from mlops.spec.yaml_source import KeyPath

from .datasets import Batch, Dataset, FileFormat, MalformedRows, Part, TypeProblem

_OPENING = 16
"""Files whose header (and Parquet footer) are read at once: in object storage each is a request
of tens of milliseconds, which one after another would dominate a dataset of thousands of files."""


class FileSet:
    """The files at one spec location. `problems` and `malformed` describe the last full read,
    rows numbered through the set (`locate` names the file and the row within it)."""

    def __init__(self, files: Sequence[Dataset], display: str) -> None:
        self.files = list(files)
        self.display = display
        self.expected = self.files[0].expected
        self.header = self.files[0].header
        self.available = self.files[0].available
        self.problems: dict[str, TypeProblem] = {}
        self.malformed = MalformedRows()
        self._starts: list[int] = [0]
        for file in self.files[1:]:
            if sorted(file.header) != sorted(self.header):
                raise _differs(file, self.files[0])

    @classmethod
    def open(cls, location: str, root: Path, file_format: FileFormat,
             expected: Mapping[str, ColumnType]) -> FileSet:
        """The dataset at `location` (relative to `root` unless a URI); raises MlopsError."""
        return cls.from_files(resolve(location, root), location, file_format, expected)

    @classmethod
    def from_files(cls, files: Sequence[DataFile], location: str, file_format: FileFormat,
                   expected: Mapping[str, ColumnType]) -> FileSet:
        """The dataset of the files `core.storage.resolve` found at `location`."""
        with ThreadPoolExecutor(max_workers=_OPENING) as pool:
            return cls(list(pool.map(
                lambda file: Dataset(file, file.display, file_format, expected), files)), location)

    def parts(self, columns: Sequence[str] | None = None) -> list[Part]:
        """Every file's parts, in path order, numbered through the set."""
        for file in self.files[1:]:
            for name in columns or ():
                if name in self.available and name not in file.available:
                    raise _no_key(file, self.files[0], name)
        with ThreadPoolExecutor(max_workers=_OPENING) as pool:
            parts = [part for found in pool.map(lambda file: file.parts(columns), self.files)
                     for part in found]
        for index, part in enumerate(parts):
            part.index = index
        self.problems = {}
        self.malformed = MalformedRows()
        return parts

    def collect(self, parts: Sequence[Part]) -> None:
        """Gather the files' problems (see `Dataset.collect`), rows numbered through the set."""
        offset = 0
        self._starts = []
        for file in self.files:
            own = [part for part in parts if part.dataset is file]
            file.collect(own)
            self._starts.append(offset)
            for name, found in file.problems.items():
                problem = self.problems.get(name)
                if problem is None:
                    self.problems[name] = replace(
                        found, first_row=found.first_row + offset if found.first_row else 0)
                else:
                    problem.count += found.count
            if file.malformed.count:
                if not self.malformed.count:
                    self.malformed = replace(file.malformed, count=0)
                self.malformed.count += file.malformed.count
            offset += sum(part.rows for part in own)

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[Batch]:
        """Batches of every part one after another, `start` counted through the set."""
        parts = self.parts(columns)
        offset = 0
        for part in parts:
            for batch in part.batches():
                yield replace(batch, start=offset + batch.start)
            offset += part.rows
        self.collect(parts)

    def locate(self, row: int) -> str:
        """Row `row` of the set (from 1) as messages name it: the row alone for one file, else
        the row within its file and the file."""
        if len(self.files) == 1 or row <= 0:
            return str(row)
        index = bisect.bisect_left(self._starts, row) - 1
        return f"{row - self._starts[index]} of {self.files[index].display}"


def _differs(file: Dataset, first: Dataset) -> MlopsError:
    for one, other in ((file, first), (first, file)):
        keys = [name for name in other.header if name in other.keys and name not in one.header]
        if keys:
            return _no_key(one, other, keys[0])
    missing = [name for name in first.header if name not in file.header]
    extra = [name for name in file.header if name not in first.header]
    said = [f"missing column '{name}'" for name in missing]
    said += [f"column '{name}' not in {first.display}" for name in extra]
    return MlopsError(f"{file.display}: columns differ from {first.display}'s: {'; '.join(said)}")


def _no_key(file: Dataset, first: Dataset, key: str) -> PartitionKeyError:
    return PartitionKeyError(f"{file.display}: no partition key '{key}' in its path "
                             f"({first.display} has {key}={first.keys[key].as_py()})")


@contextmanager
def located(loaded: LoadedSpec, location: str) -> Iterator[None]:
    """Partition-key errors raised inside also name the spec value that gave `location`
    (`mlops.yaml:LINE:COL: data.train: <file>: ...`): the fix is often there (the schema's dtype
    of the key, or the path). A location the spec does not name (a command-line option) keeps
    the file alone."""
    try:
        yield
    except PartitionKeyError as error:
        key = spec_key(loaded, location)
        if key is None:
            raise
        raise MlopsError(str(loaded.source.diagnostic(key, str(error)))) from None


def spec_key(loaded: LoadedSpec, location: str) -> KeyPath | None:
    """The first of data.train, data.test, data.reference, data.current and batch.input whose
    value is `location` (as written, or the same local path made absolute)."""
    data, batch = loaded.spec.data, loaded.spec.batch
    named: list[tuple[KeyPath, str | None]] = [
        (("data", "train"), data.train), (("data", "test"), data.test),
        (("data", "reference"), data.reference), (("data", "current"), data.current),
        (("batch", "input"), batch.input if batch is not None else None)]
    for key, value in named:
        if value is not None and _same_location(value, location, loaded.root):
            return key
    return None


def _same_location(value: str, location: str, root: Path) -> bool:
    if value == location:
        return True
    if scheme(value) is not None or scheme(location) is not None:
        return False
    return (root / value).absolute() == (root / location).absolute()
