"""A bounded CPU hog for proving the test suite does not depend on a quiet machine.

Starts one busy process per core, each busy for ``--duty`` of every 100 ms, and stops them all
after ``--seconds`` or as soon as this process dies, so a forgotten hog cannot outlive its run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time


def _spin(duty: float, deadline: float) -> None:
    """Burn ``duty`` of each 100 ms slice until ``deadline``."""
    period = 0.1
    parent = os.getppid()
    while time.monotonic() < deadline and os.getppid() == parent:
        start = time.monotonic()
        while time.monotonic() - start < duty * period:
            pass
        time.sleep(period * (1.0 - duty))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, required=True, help="stop after this long")
    parser.add_argument("--duty", type=float, default=0.5, help="busy share of each core, 0-1")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    workers = [
        multiprocessing.Process(target=_spin, args=(args.duty, deadline), daemon=True)
        for _ in range(args.processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
