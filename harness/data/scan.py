"""The scan engine: one file read once, its parts tallied on every core at once, merged in order.

A file's parts (`datasets.Part`) depend only on the file, so the merged tallies, fingerprints and
row sample are the same whatever the number of cores. Per batch, each column is read once: its
nulls and rule offenders are tallied (`tallies`), it is folded into the row fingerprints
(`rowhash`), its categories are counted, and the drift features' values join the row sample.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from mlops.spec.models import Data

from ..stats import Reservoir
from . import arrow_numpy, rowhash
from .datasets import Batch, Dataset, Part
from .tallies import Coded, Tallies, tally_numbers, tally_text

_NUMERIC = ("float", "int")


class FileScan:
    """Everything the checks need from one file: its parts are tallied on every core at once,
    then merged in file order. The row sample is shared (a bottom-k sample is the same whatever
    order its rows arrive in), so memory holds one sample, not one per part."""

    def __init__(self, dataset: Dataset, data: Data, numeric: list[str],
                 categorical: list[str]) -> None:
        self.dataset = dataset
        self.data = data
        self.columns = [name for name in data.columns if name in dataset.header]
        self.numeric = [name for name in numeric if name in self.columns]
        self.categorical = [name for name in categorical if name in self.columns]
        self.tallies = Tallies(self.columns, self.categorical)
        self.sample = Reservoir(len(self.numeric)) if self.numeric else None
        self._sample_lock = threading.Lock()

    def scan(self) -> FileScan:
        parts = self.dataset.parts(self.columns)
        cores = _cores()
        pool = ThreadPoolExecutor(max_workers=cores)
        try:
            if len(parts) == 1:
                self._scan_batches(parts[0], pool, cores)
            else:
                for tallies in pool.map(self._tally_part, parts):
                    self.tallies.merge(tallies)
        finally:  # an unreadable part (or Ctrl-C) stops the work not yet started
            pool.shutdown(cancel_futures=True)
        self.dataset.collect(parts)
        return self

    def _scan_batches(self, part: Part, pool: ThreadPoolExecutor, cores: int) -> None:
        """One part (a small CSV, a Parquet file of one row group): its reader decodes on
        pyarrow's threads, and its batches are tallied on ours, at most `cores` ahead."""
        pending: deque[Future[Tallies]] = deque()
        for batch in part.batches():
            pending.append(pool.submit(self._tally, [batch]))
            if len(pending) > cores:
                self.tallies.merge(pending.popleft().result())
        while pending:
            self.tallies.merge(pending.popleft().result())

    def _tally_part(self, part: Part) -> Tallies:
        return self._tally(part.batches())

    def _tally(self, batches: Iterable[Batch]) -> Tallies:
        """Tallies of consecutive rows, numbered from the first of them."""
        tallies = Tallies(self.columns, self.categorical)
        for batch in batches:
            self._add(tallies, batch)
        return tallies

    def _add(self, tallies: Tallies, batch: Batch) -> None:
        start, data, rows = tallies.rows, batch.data, batch.num_rows
        tallies.rows += rows
        row_hash = rowhash.start(rows)
        numbers: dict[str, npt.NDArray[np.float64]] = {}
        for name in self.columns:
            spec = self.data.columns[name]
            array = data.column(name)
            tally = tallies.columns[name]
            if spec.dtype in _NUMERIC or spec.dtype == "bool":
                values = arrow_numpy.floats(array)
                numbers[name] = values
                missing = np.isnan(values)
                if missing.any():  # NaN has many bit patterns: hash one
                    tally.nulls.add(missing, start)
                    rowhash.mix_floats(row_hash, np.where(missing, np.nan, values))
                else:
                    rowhash.mix_floats(row_hash, values)
                tally_numbers(spec, tally, values, missing, start)
                if name in tallies.categorical:
                    tallies.categorical[name].add(array)
                if name == self.data.target:
                    tallies.classes.add(array)
            else:
                coded = Coded.of(array)
                rowhash.mix_into(row_hash, coded.per_row(rowhash.text_hashes(coded.values), np.uint64))
                tally.nulls.add(coded.per_row([v is None for v in coded.values], bool), start)
                tally_text(spec, tally, coded, start)
                if name in tallies.categorical:
                    coded.count_into(tallies.categorical[name])
                if name == self.data.target:
                    coded.count_into(tallies.classes)
        tallies.hashes.append(rowhash.finish(row_hash))
        if self.sample is not None:
            block = np.column_stack([numbers[name] for name in self.numeric])
            with self._sample_lock:
                self.sample.add(block, batch.row_keys())

    @property
    def rows(self) -> int:
        return self.tallies.rows

    def duplicates(self) -> tuple[int, int, int]:
        """(duplicate rows, first duplicate's row, the earlier row it repeats); rows from 1.
        Rows compare by a 64-bit hash of all their values."""
        return rowhash.first_duplicate(self.tallies.hashes)


def _cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
