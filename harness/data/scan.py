"""The scan: a dataset read once, each part tallied on its own (on this machine's cores or as Ray
tasks, `harness.engine`), the part tallies merged in part order on the driver.

A dataset's parts (`datasets.Part`, over every file of a `fileset.FileSet`) depend only on the data,
so the merged tallies, fingerprints and row sample are the same whatever the engine and the number
of workers. Per batch, each column is read once: its nulls and rule offenders are tallied
(`tallies`), it is folded into the row fingerprints (`rowhash`), its categories are counted, and the
drift features' values join the part's row sample; the part samples merge into one (a bottom-k
sample is the same whatever order its rows arrive in).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from mlops.spec.models import Data

from ..engine import Engine, PartProgress, open_engine
from ..stats import Reservoir
from ..stats.drift import FloatArray
from ..stats.sketch import RESERVOIR_ROWS, KeyArray, mix64
from . import arrow_numpy, rowhash
from .datasets import _PART_SHIFT, Batch, MalformedRows, Part, TypeProblem
from .fileset import FileSet
from .tallies import Coded, Tallies, tally_numbers, tally_text

_NUMERIC = ("float", "int")
_BOUND_CHUNK = 1 << 20


class Sample(Reservoir):
    """A `Reservoir` that travels: pickled with its filled rows only, merged into another, and
    fed only the rows that can be in the whole dataset's sample when that is known beforehand."""

    def add_below(self, block: FloatArray, keys: KeyArray, bound: int | None) -> None:
        """Add the rows whose priority is at most `bound` (None: all); the others count as seen
        (the sample of the whole dataset never holds them)."""
        if bound is None:
            self.add(block, keys)
            return
        keep = mix64(keys ^ self._seed) <= np.uint64(bound)
        self.add(block[keep], keys[keep])
        self.seen += int(keep.size - np.count_nonzero(keep))

    def merge(self, other: Sample) -> None:
        """Add another part's sample: the result is the sample of both parts' rows (and counts
        every row the other part saw, not only those it kept)."""
        size = other._size
        if size:
            self.add(other._rows[:size], other._keys[:size])
        self.seen += other.seen - size

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        size = self._size
        state["_rows"], state["_keys"] = self._rows[:size].copy(), self._keys[:size].copy()
        state["_priority"], state["_ordered"] = self._priority[:size].copy(), None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        size, capacity = self._size, self.capacity
        rows, keys, priority = self._rows, self._keys, self._priority
        self._rows = np.empty((capacity, rows.shape[1]), dtype=np.float64)
        self._keys, self._priority = (np.empty(capacity, dtype=np.uint64),
                                      np.empty(capacity, dtype=np.uint64))
        self._rows[:size], self._keys[:size], self._priority[:size] = rows, keys, priority


@dataclass(frozen=True)
class ScanPlan:
    """What a part's task computes: the columns read, and those sampled or counted for drift."""

    data: Data
    columns: list[str]
    numeric: list[str]
    categorical: list[str]
    bound: int | None = None
    """The highest row priority in the whole dataset's sample, when known before reading (see
    `sample_bound`): a part then returns only its rows of that sample, not a sample of its own."""

    def sample(self) -> Sample | None:
        return Sample(len(self.numeric)) if self.numeric else None


@dataclass
class PartTally:
    """One part's tallies, sample and reading problems, as its task returns them."""

    tallies: Tallies
    sample: Sample | None
    rows: int
    problems: dict[str, TypeProblem] = field(default_factory=dict)
    malformed: MalformedRows = field(default_factory=MalformedRows)


def tally_part(job: tuple[ScanPlan, Part]) -> PartTally:
    """Read one part and tally it (the task each engine runs)."""
    plan, part = job
    tallies = Tallies(plan.columns, plan.categorical)
    sample = plan.sample()
    for batch in part.batches():
        _add(plan, tallies, sample, batch)
    return PartTally(tallies, sample, part.rows, part.problems, part.malformed)


class FileScan:
    """Everything the checks need from one dataset: its parts tallied by the engine, merged in
    part order."""

    def __init__(self, dataset: FileSet, data: Data, numeric: list[str],
                 categorical: list[str]) -> None:
        self.dataset = dataset
        self.data = data
        self.columns = [name for name in data.columns if name in dataset.header]
        self.numeric = [name for name in numeric if name in self.columns]
        self.categorical = [name for name in categorical if name in self.columns]
        self.plan = ScanPlan(data, self.columns, self.numeric, self.categorical)
        self.tallies = Tallies(self.columns, self.categorical)
        self.sample = self.plan.sample()

    def scan(self, engine: Engine | None = None) -> FileScan:
        if engine is None:
            with open_engine() as local:
                return self.scan(local)
        parts = self.dataset.parts(self.columns)
        progress = PartProgress(self.dataset.display, len(parts))
        plan = replace(self.plan, bound=sample_bound(parts)) if self.sample is not None else self.plan
        for part, result in zip(parts, engine.map(tally_part, [(plan, p) for p in parts]),
                                strict=True):
            part.rows, part.problems, part.malformed = result.rows, result.problems, result.malformed
            self.tallies.merge(result.tallies)
            if self.sample is not None and result.sample is not None:
                self.sample.merge(result.sample)
            progress.advance(result.rows)
        self.dataset.collect(parts)
        return self

    @property
    def rows(self) -> int:
        return self.tallies.rows

    def duplicates(self) -> tuple[int, int, int]:
        """(duplicate rows, first duplicate's row, the earlier row it repeats); rows from 1.
        Rows compare by a 64-bit hash of all their values."""
        return rowhash.first_duplicate(self.tallies.hashes)


def _add(plan: ScanPlan, tallies: Tallies, sample: Sample | None, batch: Batch) -> None:
    start, data, rows = tallies.rows, batch.data, batch.num_rows
    tallies.rows += rows
    row_hash = rowhash.start(rows)
    numbers: dict[str, npt.NDArray[np.float64]] = {}
    for name in plan.columns:
        spec = plan.data.columns[name]
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
            if name == plan.data.target:
                tallies.classes.add(array)
        else:
            coded = Coded.of(array)
            rowhash.mix_into(row_hash, coded.per_row(rowhash.text_hashes(coded.values), np.uint64))
            tally.nulls.add(coded.per_row([v is None for v in coded.values], bool), start)
            tally_text(spec, tally, coded, start)
            if name in tallies.categorical:
                coded.count_into(tallies.categorical[name])
            if name == plan.data.target:
                coded.count_into(tallies.classes)
    tallies.hashes.append(rowhash.finish(row_hash))
    if sample is not None:
        sample.add_below(np.column_stack([numbers[name] for name in plan.numeric]),
                         batch.row_keys(), plan.bound)


def sample_bound(parts: list[Part], capacity: int = RESERVOIR_ROWS) -> int | None:
    """The highest priority among the `capacity` lowest of every row's, when every part's row
    count is known (Parquet metadata) and the rows outnumber the sample; else None. A row's
    priority depends only on its key (part, row), so this is the exact bound of the final
    bottom-k sample, and each part's task ships only its rows of it (at most `capacity` rows in
    all, instead of up to `capacity` per part)."""
    counts = [part.known_rows for part in parts]
    if any(count is None for count in counts) or sum(c or 0 for c in counts) <= capacity:
        return None
    lowest: KeyArray = np.empty(0, dtype=np.uint64)
    for part, count in zip(parts, counts, strict=True):
        first = part.index << _PART_SHIFT
        for start in range(0, count or 0, _BOUND_CHUNK):
            keys = np.arange(first + start, first + min(count or 0, start + _BOUND_CHUNK),
                             dtype=np.uint64)
            candidates = np.concatenate([lowest, mix64(keys)])
            if candidates.size > capacity:
                candidates = np.partition(candidates, capacity - 1)[:capacity]
            lowest = candidates
    return int(lowest.max())
