"""The local engine keeps the items' order; progress is quiet at first, then a line now and then."""

from __future__ import annotations

import io

from mlops.harness.engine import PartProgress, open_engine


def _square(value: int) -> int:
    return value * value


def test_local_engine_returns_results_in_order() -> None:
    with open_engine("local") as engine:
        assert list(engine.map(_square, list(range(20)))) == [v * v for v in range(20)]
        assert list(engine.map(_square, [3])) == [9]


def test_progress_reports_parts_and_rows_per_second() -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = PartProgress("s3://b/train", 4, every=5.0, stream=stream, clock=lambda: now[0])
    now[0] = 1.0
    progress.advance(1000)
    assert stream.getvalue() == ""
    now[0] = 10.0
    progress.advance(4000)
    assert stream.getvalue() == "s3://b/train: 2/4 parts, 5,000 rows, 500 rows/s\n"
