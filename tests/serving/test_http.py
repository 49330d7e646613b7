"""A response's head and body leave in one send; a lone write leaves at the loop's next step."""

from __future__ import annotations

import asyncio

from mlops.serving.http import JoinedWrites


class Socket(asyncio.Transport):
    """The socket's transport as the wrapper sees it: what was sent, and whether it is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True


def test_a_head_and_its_body_go_out_as_one_send() -> None:
    async def respond() -> list[bytes]:
        socket = Socket()
        joined = JoinedWrites(socket, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert socket.sent == []
        joined.write(b'{"ok":true}')
        await asyncio.sleep(0)
        joined.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        joined.write(b"")
        return socket.sent

    assert asyncio.run(respond()) == [b'HTTP/1.1 200 OK\r\n\r\n{"ok":true}',
                                      b"HTTP/1.1 204 No Content\r\n\r\n"]


def test_a_lone_write_leaves_at_the_next_step_and_before_a_close() -> None:
    async def respond() -> tuple[list[bytes], list[bytes], bool]:
        socket = Socket()
        joined = JoinedWrites(socket, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0)
        after_a_step = list(socket.sent)
        joined.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        joined.close()
        await asyncio.sleep(0)  # the step's flush finds nothing left and a closed socket
        return after_a_step, socket.sent, socket.closed

    after_a_step, sent, closed = asyncio.run(respond())
    assert after_a_step == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert sent == [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n"]
    assert closed


def test_an_abort_drops_what_is_held() -> None:
    async def respond() -> Socket:
        socket = Socket()
        joined = JoinedWrites(socket, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        joined.abort()
        await asyncio.sleep(0)
        return socket

    socket = asyncio.run(respond())
    assert socket.sent == [] and socket.aborted
