"""uvicorn's httptools protocol, with a response's head and body leaving in one send.

uvicorn writes the status line and headers when the app sends `http.response.start` and the body
on `http.response.body`: two send() calls, two TCP segments, and a client that wakes for the
head before the body arrives. The server sends both in the same step of the event loop, so
holding the head until the body comes costs nothing and saves a system call and a segment per
request (measured with `python -m bench.serve.cpu_per_request --connections 1`; see
bench/serve/NOTES.md). A write that stays alone (an interim or error response of one write) goes
out at the next step of the loop, so nothing waits longer than that.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JoinedWrites(asyncio.Transport):
    """A transport whose first write waits for the next one (or the next loop step) to go out
    with it; everything else is the socket's own transport."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(b"".join((held, data)))
        elif data:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send a write still held (the next step of the loop, or before closing)."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")


class JoinedWritesProtocol(HttpToolsProtocol):
    """uvicorn's `http` protocol for `mlops serve` (see the module's docstring)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is an asyncio.Transport by interface, not by class
        super().connection_made(JoinedWrites(cast(asyncio.Transport, transport), self.loop))
