"""The engine protocol, the local engine, and the choice between engines."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Protocol, TypeVar

from mlops.spec.models import Data, DataEngine

Item = TypeVar("Item")
Result = TypeVar("Result")
EngineName = DataEngine


class Engine(Protocol):
    """Runs one task per item, anywhere, and yields the results in the items' order."""

    name: EngineName

    def map(self, task: Callable[[Item], Result], items: Sequence[Item]) -> Iterator[Result]:
        """`task(item)` for every item; `task` is a module-level function (Ray pickles it by
        name), items and results are picklable."""
        ...


class LocalEngine:
    """Every core of this machine, one thread per core (pyarrow and numpy release the GIL)."""

    name: EngineName = "local"

    def map(self, task: Callable[[Item], Result], items: Sequence[Item]) -> Iterator[Result]:
        if len(items) == 1:  # no pool for the common one-part file
            yield task(items[0])
            return
        pool = ThreadPoolExecutor(max_workers=cores())
        try:
            yield from pool.map(task, items)
        finally:  # an unreadable part (or Ctrl-C) stops the work not yet started
            pool.shutdown(cancel_futures=True)


@contextmanager
def open_engine(name: EngineName = "local", address: str | None = None) -> Iterator[Engine]:
    """The engine named; with Ray, connected to `address` (None: a cluster on this machine, or
    the one this process already joined) for the duration of the block."""
    if name == "local":
        yield LocalEngine()
        return
    from .ray_engine import RayEngine

    with RayEngine.connect(address) as engine:
        yield engine


def data_engine(data: Data, name: EngineName | None,
                address: str | None) -> tuple[EngineName, str | None]:
    """The engine and address a command uses: its options, else the spec's `data` settings."""
    chosen = name or data.engine
    return chosen, address or (data.ray_address if chosen == "ray" else None)


def cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
