"""Adaptive micro-batching: concurrent requests share one onnxruntime run.

Whatever queued up during a run forms the next batch, up to `max_batch_size` rows. The batcher
waits up to `max_batch_delay_ms` for more rows only while other requests are still being read, so
a lone request (concurrency 1) never waits.

A batch the model runs fast (its rows at the last run's seconds per row under `INLINE_SECONDS`)
runs on the event loop itself; a slower one runs on a worker thread (onnxruntime releases the
GIL), so the loop keeps reading requests and answering health checks meanwhile. Handing a run to
the thread and back costs two thread wake-ups and the GIL changing hands twice; on two cores
shared with the load generator that cost more than the overlap saved: 0.6-0.8 ms of server CPU
per 64-row forest request at 8 and 32 connections, and 10-30% of one-row throughput at 32
(bench/serve/NOTES.md, session 30). A host with cores to spare gets them with `serving.workers`.

A batch's bookkeeping (`on_batch`: its metrics) runs at the loop's next step, after the requests it
answered have sent their responses: at one connection that work then overlaps the client's turn
instead of adding to every request's latency.

A request whose body has arrived waits (`admit`) while a full batch is already queued. When the
worker takes a batch, waiting requests go on to be parsed and queued, in arrival order, up to a
batch's worth of rows (each counted as one row until it is parsed). Parsing every request as soon
as it arrived cost 64-row requests 6-19% of their req/s at 8 to 128 connections; one-row requests
are unchanged, and a tighter gate (one waiting request at a time) gained nothing
(bench/serve/NOTES.md, session 33).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mlops.core.columns import Columns, concat

Outputs = dict[str, np.ndarray]
RunModel = Callable[[Columns], Outputs]
OnBatch = Callable[[Columns, int, Outputs], None]
INLINE_SECONDS = 0.002
"""The longest model run expected to block the event loop (health checks, new connections and
SIGTERM wait about this long at most)."""


@dataclass
class _Job:
    columns: Columns
    rows: int
    future: asyncio.Future[Outputs]


class MicroBatcher:
    def __init__(self, run: RunModel, on_batch: OnBatch, max_rows: int,
                 max_delay_ms: float, inline_seconds: float = INLINE_SECONDS) -> None:
        self.run = run
        self.on_batch = on_batch
        self.max_rows = max_rows
        self.max_delay = max_delay_ms / 1000
        self.queue: deque[_Job] = deque()
        self.reading = 0  # requests whose body is being read or parsed: rows that may join soon
        self.queued_rows = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.let_in = 0  # waiters told there is room that have not resumed yet
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnxruntime")
        self.worker: asyncio.Task[None] | None = None
        self.arrived = asyncio.Event()
        self.inline_seconds = inline_seconds
        self.seconds_per_row = float("inf")
        """The last run's time per row; unknown until measured, so the first run goes to the
        thread. Per row, so a batch larger than the last one is not taken for as fast."""

    async def admit(self) -> None:
        """Return once the queue has room for another request's rows (at once, mostly)."""
        if not self.waiting and self.queued_rows + self.let_in < self.max_rows:
            return
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(ticket)
        try:
            await ticket
        finally:
            if ticket.done() and not ticket.cancelled():
                self.let_in -= 1

    def done_reading(self) -> None:
        """A request left the reading stage (rejected, gone, or about to queue its rows): room
        may be left, counted once its rows are in the queue (the loop's next step)."""
        self.reading -= 1
        if self.waiting:
            asyncio.get_running_loop().call_soon(self._let_in)

    def _let_in(self) -> None:
        while self.waiting and self.queued_rows + self.let_in < self.max_rows:
            ticket = self.waiting.popleft()
            if not ticket.done():  # its client may have gone away
                ticket.set_result(None)
                self.let_in += 1

    async def predict(self, columns: Columns, rows: int) -> Outputs:
        """Outputs for these rows (raw columns), computed in whichever batch they land in."""
        future: asyncio.Future[Outputs] = asyncio.get_running_loop().create_future()
        self.queue.append(_Job(columns, rows, future))
        self.queued_rows += rows
        self.arrived.set()
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work())
        return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self.queue:
            jobs = await self._collect()
            batch = jobs[0].columns if len(jobs) == 1 else concat([j.columns for j in jobs])
            rows = sum(job.rows for job in jobs)
            inline = self.seconds_per_row * rows < self.inline_seconds
            try:
                if inline:
                    outputs = self._timed(batch, rows)
                else:
                    outputs = await loop.run_in_executor(self.executor, self._timed, batch, rows)
            except Exception as error:  # a model failure answers every request of the batch
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            start = 0
            for job in jobs:
                end = start + job.rows
                if not job.future.done():  # the client may have gone away
                    job.future.set_result({k: v[start:end] for k, v in outputs.items()})
                start = end
            loop.call_soon(self.on_batch, batch, rows, outputs)
            if inline and self.queue:
                await asyncio.sleep(0)  # answer this batch (and read new requests) before the next

    def _timed(self, batch: Columns, rows: int) -> Outputs:
        started = time.perf_counter()
        try:
            return self.run(batch)
        finally:
            self.seconds_per_row = (time.perf_counter() - started) / max(rows, 1)

    async def _collect(self) -> list[_Job]:
        """Take queued jobs up to max_rows; wait briefly for more only if more are coming."""
        jobs, rows = self._take([], 0)
        deadline = time.monotonic() + self.max_delay
        while rows < self.max_rows and self.reading > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                break
            jobs, rows = self._take(jobs, rows)
        return jobs

    def _take(self, jobs: list[_Job], rows: int) -> tuple[list[_Job], int]:
        while self.queue and (not jobs or rows + self.queue[0].rows <= self.max_rows):
            job = self.queue.popleft()
            jobs.append(job)
            rows += job.rows
            self.queued_rows -= job.rows
        self._let_in()
        return jobs, rows

    def close(self) -> None:
        self.executor.shutdown(wait=True)
