"""Suite-wide options: `pytest --update-golden` rewrites golden trees instead of comparing them.

Property tests (hypothesis) run the same examples on every run and machine: derandomized, with no
example database in the checkout (state one run would leave for the next), no per-example deadline
and no "too slow" health check (both measure this CPU's speed). A test's own @settings still
overrides these. `pytest --hypothesis-profile=explore` searches new random examples instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.workflow_replay import build_wheel

if TYPE_CHECKING:
    from tests.image.podman import Built

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("repeatable", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", settings.get_profile("repeatable"), derandomize=False)
settings.load_profile("repeatable")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/<case>/ from the current compiler output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, as `pip wheel --no-deps` builds it: built once per session (it
    is the same for every test: workflow replays, image wheelhouses), alone in its folder so that
    folder can serve as a wheel index."""
    return build_wheel(ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def podman_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The DOCKER_HOST of podman's Docker API with the local base image (tests/image/podman.py),
    started for each image module and stopped at its end: one API for the whole session failed a
    clean CI run in podman itself (a container's stop timed out waiting for its exit file in
    /run/libpod/exits), as it had twice before. Imported here, not at the top: only a session
    that builds images pays for importing the compiler and harness."""
    from tests.image.podman import podman_api

    # podman refuses a runroot path over 50 characters
    with podman_api(tmp_path_factory.mktemp("ps")) as docker_host:
        yield docker_host


@pytest.fixture(scope="module")
def serving_image(tmp_path_factory: pytest.TempPathFactory, wheel: Path, podman_host: str
                  ) -> Built:
    """The breast-cancer image that tests/image/test_image.py serves from and the scheduled batch
    scoring's test (tests/harness/batch/) runs, built by each module in its own podman API (see
    podman_host)."""
    from tests.harness.conftest import BUCKET
    from tests.image.podman import build_serving_image

    return build_serving_image(tmp_path_factory.mktemp("project"), podman_host, wheel, BUCKET)
