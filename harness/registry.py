"""The release gates: every one, built-in or installed, comes from the `mlops.gates` entry-point
group through the plugin registry (`mlops.core.plugins.GATES`; the built-ins are declared in
pyproject.toml).

Each built-in gate is the `gate` module of its feature package (`harness/data/gate.py`, ...),
exposing `GATE`, an object following `harness.gate.Gate`. Modules are imported only when their
gate runs, so `mlops gate data` never imports onnxruntime, and a gate plugin that cannot be loaded
fails only its own gate.
"""

from __future__ import annotations

from mlops.core.plugins import GATES

from .gate import Gate

GATE_NAMES: tuple[str, ...] = GATES.names()
"""Every registered gate, in run order: the built-ins, then installed ones by name."""


def get_gate(name: str) -> Gate:
    """The gate called `name`; MlopsError for an unknown name, a missing optional extra or a
    broken plugin."""
    gate: Gate = GATES.load(name)
    return gate
