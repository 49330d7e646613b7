"""Fixtures shared by the functional tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.replay_venvs import VenvCache


@pytest.fixture(scope="session")
def replay_venvs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VenvCache]:
    """Workflow replays' venvs, one install per install line this session (tests/replay_venvs.py);
    removed at the session's end (a few hundred MB each)."""
    cache = VenvCache(tmp_path_factory.mktemp("replay-venvs"))
    yield cache
    shutil.rmtree(cache.root, ignore_errors=True)
