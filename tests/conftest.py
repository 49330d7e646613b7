"""Suite-wide options: `pytest --update-golden` rewrites golden trees instead of comparing them.

Property tests (hypothesis) run the same examples on every run and machine: derandomized, with no
example database in the checkout (state one run would leave for the next), no per-example deadline
and no "too slow" health check (both measure this CPU's speed). A test's own @settings still
overrides these. `pytest --hypothesis-profile=explore` searches new random examples instead.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

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
