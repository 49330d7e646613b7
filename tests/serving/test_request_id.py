"""Request ids: the caller's when sane, else 128 random bits that a forked worker does not repeat."""

from __future__ import annotations

import os
import re

from mlops.serving.app import _request_id


def test_a_sane_caller_id_is_kept_and_any_other_is_replaced() -> None:
    assert _request_id([(b"x-request-id", b"trace-42.a_b")]) == "trace-42.a_b"
    made = {_request_id([(b"x-request-id", b"has space")]) for _ in range(1000)}
    assert len(made) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", made_id) for made_id in made)


def test_a_forked_worker_makes_ids_of_its_own() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, _request_id([]).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    child_id = os.read(read, 64).decode()
    os.close(read)
    assert child_id != _request_id([])
