"""The registry of targets: every target, built-in or installed, comes from the `mlops.targets`
entry-point group (see `mlops.core.plugins`; the built-ins are declared in pyproject.toml).

Each built-in module `compiler.targets.<name>` exposes `TARGET`, an instance of the `Target`
protocol. Targets are imported when a compile runs, never at import time of the package. A plugin
that fails to load is left out and reported by `broken_targets()`; the other targets still compile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from mlops.compiler.plan import Target
from mlops.core.plugins import TARGETS, Contract, conflicts, load_or_explain, registrations

ORDER = ("schema", "github_actions", "docker", "kubernetes", "monitoring", "load")
"""Render order of the built-in targets; installed ones follow by name (output is sorted anyway)."""
CONTRACT = Contract("target", "TARGET", "render", "mlops.compiler.plan.Target")
BUILTIN: tuple[str, ...] = tuple(
    registration.value.partition(":")[0]
    for registration in registrations(TARGETS, ORDER).values() if registration.builtin)
"""The modules of the built-in targets, as this package registers them."""


@dataclass(frozen=True)
class Discovered:
    targets: tuple[Target, ...]
    broken: tuple[str, ...]


@cache
def discover() -> Discovered:
    """Load every registered target once; a broken one becomes a sentence instead."""
    targets: list[Target] = []
    broken = conflicts(TARGETS, CONTRACT)
    for registration in registrations(TARGETS, ORDER).values():
        target, problem = load_or_explain(registration, CONTRACT)
        if problem is None:
            targets.append(target)
        else:
            broken.append(problem)
    return Discovered(tuple(targets), tuple(broken))


def builtin_targets() -> list[Target]:
    """Every usable registered target (built-in first, then installed plugins), in order."""
    return list(discover().targets)


def broken_targets() -> list[str]:
    """Why each registered target that could not be loaded was left out."""
    return list(discover().broken)
