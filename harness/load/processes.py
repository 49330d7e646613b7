"""Processes the load gate starts, and the guarantee that it stops every one of them.

Each child is the leader of its own process group (a new session), so stopping it also stops what
it spawned (uvicorn workers, a wrapper's server). `ProcessGroup` is a context manager: leaving it
in any way — success, exception, Ctrl-C, or SIGTERM while `terminate_as_interrupt` is active —
sends SIGTERM to every group, waits, then SIGKILLs whatever is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType, TracebackType

GRACE_S = 10.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ProcessGroup:
    """Every process started through it is stopped (with its descendants) on exit."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self, command: Sequence[str], *, log: Path, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `command` in a new session, output appended to `log`."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                list(command), cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """SIGTERM every group, wait up to GRACE_S, then SIGKILL the rest."""
        for process in self.processes:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _signal_group(pgid: int, number: signal.Signals) -> None:
    """Signal a whole group; members may outlive the leader, so this runs even if it exited."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, number)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (a cancelled CI job) into KeyboardInterrupt, so cleanup code runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {number}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def tail(log: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
