"""Client mistakes as data: every rejected request carries a status, a kind and a sentence.

The kind is the `kind` label of the errors metric; the sentence is what the client reads. Anything
that is not a `ClientError` is a server bug and becomes a 500 (kind `internal`).
"""

from __future__ import annotations

import orjson


class ClientError(Exception):
    """A request the server refuses; answered 4xx, the server keeps serving."""

    def __init__(self, status: int, kind: str, message: str,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers

    def body(self) -> bytes:
        """The JSON error body; `error` is the Open Inference Protocol's field name."""
        return error_body(self.message, self.kind)


def error_body(message: str, kind: str) -> bytes:
    return orjson.dumps({"error": message, "kind": kind})


def invalid(message: str) -> ClientError:
    """The body parsed but does not fit the model (names, shapes, types, values)."""
    return ClientError(400, "invalid_input", message)
