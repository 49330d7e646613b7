"""One shared binary-classifier server per test session (start-up costs a second of 2 shared cores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.serve_helpers import Server, make_project


@pytest.fixture(scope="session")
def binary_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("binary")
    return make_project(root, serving={
        "port": 8080, "max_body_bytes": 4096,
        "request_log": {"path": str(root / "requests"), "sample_rate": 1.0}})


@pytest.fixture(scope="session")
def server(binary_project: Path) -> Iterator[Server]:
    running = Server(binary_project)
    yield running
    assert running.stop() == 0, running.output()
