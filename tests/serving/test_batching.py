"""Micro-batching: where a batch runs, and which requests share one run."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from mlops.core.columns import Columns
from mlops.serving.batching import MicroBatcher, Outputs


class Model:
    """Doubles its input; notes the thread and the batch size of every run."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.runs: list[tuple[str, int]] = []

    def __call__(self, columns: Columns) -> Outputs:
        time.sleep(self.seconds)
        self.runs.append((threading.current_thread().name, len(columns["x"])))
        return {"y": columns["x"] * 2}


def batcher(model: Model, inline_seconds: float = 10.0) -> MicroBatcher:
    """Whether a run counts as fast is the test's choice, never the machine's speed."""
    return MicroBatcher(model, lambda columns, rows, outputs: None, max_rows=32, max_delay_ms=50,
                        inline_seconds=inline_seconds)


def test_a_lone_request_to_a_fast_model_runs_on_the_event_loop_once_measured() -> None:
    model = Model()

    async def three_in_a_row() -> list[float]:
        running = batcher(model)
        answers = [float((await running.predict({"x": np.array([v])}, 1))["y"][0])
                   for v in (1.0, 2.0, 3.0)]
        running.close()
        return answers

    assert asyncio.run(three_in_a_row()) == [2.0, 4.0, 6.0]
    loop_thread = threading.current_thread().name
    assert [thread for thread, _ in model.runs] == [
        "onnxruntime_0", loop_thread, loop_thread]  # the first run measures the model


def test_a_slow_model_always_runs_on_its_thread() -> None:
    model = Model(seconds=0.02)

    async def two_in_a_row() -> None:
        running = batcher(model, inline_seconds=0.01)
        for value in (1.0, 2.0):
            await running.predict({"x": np.array([value])}, 1)
        running.close()

    asyncio.run(two_in_a_row())
    assert [thread for thread, _ in model.runs] == ["onnxruntime_0", "onnxruntime_0"]


def test_a_batch_of_several_requests_to_a_fast_model_runs_on_the_event_loop() -> None:
    model = Model()

    async def two_at_once() -> None:
        running = batcher(model)
        await running.predict({"x": np.array([0.0])}, 1)  # measured: fast
        await asyncio.gather(running.predict({"x": np.array([1.0])}, 1),
                             running.predict({"x": np.array([2.0])}, 1))
        running.close()

    asyncio.run(two_at_once())
    assert model.runs[1:] == [(threading.current_thread().name, 2)]


def test_a_batch_too_large_for_the_last_runs_pace_goes_to_the_thread() -> None:
    """1 ms a run: one row is fast at 50 ms a batch, 100 rows at 1 ms a row are not."""
    model = Model(seconds=0.001)

    async def growing() -> None:
        running = batcher(model, inline_seconds=0.05)
        for rows in (1, 1, 100):
            await running.predict({"x": np.zeros(rows)}, rows)
        running.close()

    asyncio.run(growing())
    loop_thread = threading.current_thread().name
    assert model.runs == [("onnxruntime_0", 1), (loop_thread, 1), ("onnxruntime_0", 100)]


def test_a_batch_run_on_the_loop_is_answered_before_the_next_batch_runs() -> None:
    model = Model()
    seen: list[int] = []

    async def more_than_one_batch() -> None:
        running = batcher(model)
        await running.predict({"x": np.array([0.0])}, 1)  # measured: fast

        async def ask(rows: int) -> None:
            await running.predict({"x": np.zeros(rows)}, rows)
            seen.append(len(model.runs))

        await asyncio.gather(*(ask(20) for _ in range(3)))  # 32 rows a batch: three batches
        running.close()

    asyncio.run(more_than_one_batch())
    assert [rows for _, rows in model.runs] == [1, 20, 20, 20]
    assert seen == [2, 3, 4]


def test_requests_still_being_read_join_one_batch() -> None:
    model = Model()

    async def concurrent() -> list[float]:
        running = batcher(model)
        await running.predict({"x": np.array([0.0])}, 1)  # measured: fast
        running.reading = 3  # three more requests are being read
        first = asyncio.ensure_future(running.predict({"x": np.array([1.0])}, 1))
        await asyncio.sleep(0.01)
        running.reading = 2
        second = asyncio.ensure_future(running.predict({"x": np.array([2.0, 3.0])}, 2))
        running.reading = 1  # the third is still being read when the batch's delay runs out
        answers = [*(await first)["y"], *(await second)["y"]]
        running.reading = 0
        running.close()
        return [float(v) for v in answers]

    assert asyncio.run(concurrent()) == [2.0, 4.0, 6.0]
    assert model.runs[1:] == [(threading.current_thread().name, 3)]


def test_the_loop_gets_a_turn_before_requests_that_fill_a_batch_run() -> None:
    """Run straight through in their handlers, 64-row requests at 128 connections kept the loop
    from accepting new connections (p99 1 s, socket errors in wrk): they go through the queue."""
    model = Model()
    seen: list[int] = []

    async def big_requests_and_other_work() -> None:
        running = batcher(model)
        await running.predict({"x": np.zeros(32)}, 32)  # measured: fast

        async def other_work() -> None:
            seen.append(len(model.runs))

        await asyncio.gather(*(running.predict({"x": np.zeros(40)}, 40) for _ in range(4)),
                             other_work())
        running.close()

    asyncio.run(big_requests_and_other_work())
    assert seen == [1]


def test_a_batch_is_counted_after_its_requests_have_their_answers() -> None:
    """The batch's metrics wait for the loop's next step: answers go out first."""
    events: list[str] = []

    async def one_request() -> None:
        running = MicroBatcher(Model(), lambda columns, rows, outputs: events.append("counted"),
                               max_rows=32, max_delay_ms=50, inline_seconds=10.0)
        await running.predict({"x": np.array([1.0])}, 1)
        events.append("answered")
        await asyncio.sleep(0)
        running.close()

    asyncio.run(one_request())
    assert events == ["answered", "counted"]


async def handle(running: MicroBatcher, name: str, rows: int, parsed: list[tuple[str, int]],
                 reject: bool = False) -> str:
    """A request as the app handles it: body read, wait for room, parse (noted with the rows
    already queued then), then queue its rows, or be rejected (a 4xx) without queueing any."""
    running.reading += 1
    try:
        await running.admit()
        parsed.append((name, running.queued_rows))
        if reject:
            return f"{name} rejected"
    finally:
        running.done_reading()
    await running.predict({"x": np.zeros(rows)}, rows)
    return f"{name} answered"


def test_a_request_waits_to_be_parsed_while_a_full_batch_is_queued() -> None:
    """b waits for a's rows to leave the queue; then b, c and d go on together (a batch's worth,
    each counted as one row until parsed). Parsing each request as it arrived cost 64-row
    requests 6-19% of their req/s."""
    parsed: list[tuple[str, int]] = []

    async def four_large_requests() -> list[str]:
        running = batcher(Model())
        answers = await asyncio.gather(*(handle(running, name, 40, parsed) for name in "abcd"))
        running.close()
        return answers

    assert asyncio.run(four_large_requests()) == [f"{name} answered" for name in "abcd"]
    assert parsed == [("a", 0), ("b", 0), ("c", 40), ("d", 80)]


def test_one_row_requests_still_fill_a_batch_while_others_wait() -> None:
    model = Model()
    parsed: list[tuple[str, int]] = []

    async def forty_requests() -> None:
        running = batcher(model)
        await running.predict({"x": np.zeros(1)}, 1)  # measured: fast, so runs stay on the loop
        await asyncio.gather(*(handle(running, str(i), 1, parsed) for i in range(40)))
        running.close()

    asyncio.run(forty_requests())
    assert [rows for _, rows in model.runs[1:]] == [32, 8]
    assert [name for name, _ in parsed] == [str(i) for i in range(40)]


def test_a_request_rejected_after_its_turn_lets_the_next_one_in() -> None:
    parsed: list[tuple[str, int]] = []

    async def requests_some_rejected() -> list[str]:
        running = MicroBatcher(Model(), lambda columns, rows, outputs: None, max_rows=2,
                               max_delay_ms=50, inline_seconds=10.0)
        answers = await asyncio.wait_for(asyncio.gather(
            handle(running, "a", 1, parsed), handle(running, "b", 1, parsed),
            handle(running, "c", 1, parsed, reject=True),
            handle(running, "d", 1, parsed, reject=True), handle(running, "e", 1, parsed)), 5)
        running.close()
        return answers

    assert asyncio.run(requests_some_rejected()) == [
        "a answered", "b answered", "c rejected", "d rejected", "e answered"]


def test_a_waiting_request_whose_client_left_does_not_hold_the_room() -> None:
    parsed: list[tuple[str, int]] = []

    async def one_waiter_cancelled() -> str:
        running = MicroBatcher(Model(), lambda columns, rows, outputs: None, max_rows=1,
                               max_delay_ms=50, inline_seconds=10.0)
        first = asyncio.create_task(handle(running, "a", 1, parsed))
        gone = asyncio.create_task(handle(running, "b", 1, parsed))
        last = asyncio.create_task(handle(running, "c", 1, parsed))
        await asyncio.sleep(0)  # a is queued; b and c wait for room
        gone.cancel()
        answer = await asyncio.wait_for(last, 5)
        await first
        running.close()
        return answer

    assert asyncio.run(one_waiter_cancelled()) == "c answered"
    assert [name for name, _ in parsed] == ["a", "c"]
