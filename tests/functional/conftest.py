"""Fixtures shared by the functional tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow_replay import build_wheel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, as `pip wheel --no-deps` builds it: built once per session (it
    is the same for every test), alone in its folder so that folder can serve as a wheel index."""
    return build_wheel(ROOT, tmp_path_factory.mktemp("dist"))
