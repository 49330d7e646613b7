"""Where batch predictions go: a folder, local or in object storage, written all or nothing.

Spark's and Hadoop's committers taught users to read a folder only once it holds `_SUCCESS`, so the
same protocol is used here: each part is written under `_temporary/<run>/` (readers skip names
starting with '_'), moved into place only when every part has been scored, and `_SUCCESS` (a JSON
summary of the run) is written last. A failed run removes its `_temporary/<run>/` and leaves the
folder as it found it. An output folder that already holds data files is refused: predictions are
never mixed with, or written over, an earlier run's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from mlops.core.errors import MlopsError
from mlops.core.object_stores import STORE_ERRORS, describe

SUCCESS = "_SUCCESS"
STAGING = "_temporary"


@dataclass(frozen=True)
class OutputFolder:
    """One run's view of the output folder; picklable, so a Ray task writes its own part."""

    filesystem: pafs.FileSystem
    path: str
    display: str
    run: str

    @property
    def staging(self) -> str:
        return f"{self.path}/{STAGING}/{self.run}"

    def part_name(self, index: int) -> str:
        return f"part-{index:05d}.parquet"

    def write_part(self, index: int, table: pa.Table, dictionary: Sequence[str] = ()) -> str:
        """Write one part's predictions under the staging folder; returns its final name. Only
        the `dictionary` columns (those of them the table has) are dictionary-encoded."""
        name = self.part_name(index)
        encoded = [column for column in dictionary if column in table.column_names]
        try:
            self.filesystem.create_dir(self.staging, recursive=True)
            pq.write_table(table, f"{self.staging}/{name}", filesystem=self.filesystem,
                           compression="zstd", use_dictionary=encoded)
        except STORE_ERRORS as error:
            raise MlopsError(f"{self.display}: cannot write {name}: {describe(error)}") from None
        return name

    def refuse_existing(self) -> None:
        """Raise unless the folder is missing or holds no data files (hidden or '_' names)."""
        try:
            found = self.filesystem.get_file_info(
                pafs.FileSelector(self.path, recursive=True, allow_not_found=True))
            marker = self.filesystem.get_file_info(f"{self.path}/{SUCCESS}")
        except STORE_ERRORS as error:
            raise MlopsError(f"{self.display}: cannot list the output folder: "
                             f"{describe(error)}") from None
        data = sorted(info.path for info in found if info.type == pafs.FileType.File
                      and not any(part.startswith((".", "_")) for part in
                                  PurePosixPath(info.path).relative_to(self.path).parts))
        if data or marker.type == pafs.FileType.File:
            shown = PurePosixPath(data[0]).name if data else SUCCESS
            raise MlopsError(f"{self.display}: the output folder already holds predictions "
                             f"({len(data)} data file{'s' if len(data) != 1 else ''}, e.g. "
                             f"{shown}); choose an empty or new folder")

    def commit(self, names: Sequence[str], summary: Mapping[str, Any]) -> None:
        """Move every staged part into place, then write `_SUCCESS`; the staging folder goes."""
        try:
            for name in names:
                self._move(f"{self.staging}/{name}", f"{self.path}/{name}")
            with self.filesystem.open_output_stream(f"{self.path}/{SUCCESS}") as stream:
                stream.write(json.dumps(summary, indent=2, sort_keys=True).encode() + b"\n")
        except STORE_ERRORS as error:
            raise MlopsError(f"{self.display}: cannot finish the output: {describe(error)}") from None
        self.discard()

    def _move(self, source: str, target: str) -> None:
        """A rename where the store has one; a copy, then a delete, where it has none (Azure Blob
        accounts without a hierarchical namespace: pyarrow does not implement `move` there)."""
        try:
            self.filesystem.move(source, target)
        except NotImplementedError:
            self.filesystem.copy_file(source, target)
            self.filesystem.delete_file(source)

    def discard(self) -> None:
        """Remove this run's staging folder (and `_temporary` when nothing else is in it)."""
        for folder in (self.staging, f"{self.path}/{STAGING}"):
            try:
                info = self.filesystem.get_file_info(folder)
                if info.type != pafs.FileType.Directory:
                    continue
                left = self.filesystem.get_file_info(pafs.FileSelector(folder, recursive=False))
                if folder == self.staging or not left:
                    self.filesystem.delete_dir(folder)
            except STORE_ERRORS:
                return  # best effort: the run has already failed or succeeded
