"""Fixtures for compiler tests (helpers live in compiler_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.compiler.compiler_helpers import compile_case


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Compile each case once per session; returns its scratch repository (do not modify it)."""
    roots: dict[str, Path] = {}

    def get(case: str) -> Path:
        if case not in roots:
            roots[case] = compile_case(case, tmp_path_factory.mktemp(case))
        return roots[case]

    return get
