"""The registry of targets: every built-in target is listed here, and only here.

Each module `compiler.targets.<name>` exposes `TARGET`, an instance of the `Target` protocol.
Modules are imported when a compile runs, never at import time of the package.
"""

from __future__ import annotations

import importlib

from compiler.plan import Target

BUILTIN = (
    "compiler.targets.schema",
    "compiler.targets.github_actions",
    "compiler.targets.docker",
    "compiler.targets.kubernetes",
    "compiler.targets.monitoring",
    "compiler.targets.load",
)


def builtin_targets() -> list[Target]:
    """The registered targets, in registry order."""
    return [importlib.import_module(name).TARGET for name in BUILTIN]
