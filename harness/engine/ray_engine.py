"""Ray: each part's task runs on the cluster, the results come back to the driver in order.

Imported only when the Ray engine is asked for: the `ray` extra is optional. The driver joins a
cluster already joined (a test's `ray.init`), or the one at the address given, and leaves only a
cluster it joined itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mlops.core.errors import MlopsError, UsageError

from .base import EngineName, Item, Result


class RayEngine:
    """Parts as Ray tasks (one CPU each), results fetched in part order."""

    name: EngineName = "ray"

    def __init__(self, ray: Any) -> None:
        self._ray = ray

    @classmethod
    @contextmanager
    def connect(cls, address: str | None) -> Iterator[RayEngine]:
        try:
            import ray
        except ImportError as error:
            raise UsageError(f"the Ray engine needs the ray extra ({error}): pip install "
                             "'mlops-yaml[ray]'") from None
        joined = not ray.is_initialized()
        if joined:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise MlopsError(f"cannot connect to the Ray cluster at {address or 'this machine'}"
                                 f": {error}") from None
        try:
            yield cls(ray)
        finally:
            if joined:
                ray.shutdown()

    def map(self, task: Callable[[Item], Result], items: Sequence[Item]) -> Iterator[Result]:
        remote = self._ray.remote(num_cpus=1)(task)
        pending = [remote.remote(item) for item in items]
        try:
            for ref in pending:
                yield self._ray.get(ref)
        except self._ray.exceptions.RayTaskError as error:
            self._cancel(pending)
            # the task's own error (an unreadable file is a MlopsError), without Ray's traceback
            raise error.cause from None
        except BaseException:
            self._cancel(pending)
            raise

    def _cancel(self, pending: list[Any]) -> None:
        """Stop the parts not yet done: one unreadable part fails the whole scan."""
        for ref in pending:
            self._ray.cancel(ref)
