"""The compiler's targets: every one, built-in or installed, comes from the `mlops.targets`
entry-point group through the plugin registry (`mlops.core.plugins.TARGETS`; the built-ins are
declared in pyproject.toml).

Each built-in module `compiler.targets.<name>` exposes `TARGET`, an instance of the `Target`
protocol. Targets are imported when a compile runs, never at import time of the package. A plugin
that fails to load is left out and reported by `broken_targets()`; the other targets still compile.
"""

from __future__ import annotations

from functools import cache

from mlops.compiler.plan import Target
from mlops.core.plugins import TARGETS, Loaded

BUILTIN: tuple[str, ...] = tuple(
    registration.module for registration in TARGETS.registered.values() if registration.builtin)
"""The modules of the built-in targets, as this package registers them."""


@cache
def _loaded() -> Loaded:
    """Every registered target, loaded once per process (a compile asks per spec)."""
    return TARGETS.load_all()


def builtin_targets() -> list[Target]:
    """Every usable registered target (built-in first, then installed plugins), in order."""
    return list(_loaded().plugins)


def broken_targets() -> list[str]:
    """Why each registered target that could not be loaded (or was ignored) was left out."""
    return list(_loaded().broken)
