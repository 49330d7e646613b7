"""The registry of release gates: every gate, built-in or installed, comes from the `mlops.gates`
entry-point group (see `mlops.core.plugins`; the built-ins are declared in pyproject.toml).

Each built-in gate is the `gate` module of its feature package (`harness/data/gate.py`, ...),
exposing `GATE`, an object following `harness.gate.Gate`. Modules are imported only when their
gate runs, so `mlops gate data` never imports onnxruntime, and a gate plugin that cannot be loaded
fails only its own gate.
"""

from __future__ import annotations

from mlops.core.errors import MlopsError
from mlops.core.plugins import (
    GATES,
    OWN_DISTRIBUTION,
    Contract,
    PluginError,
    Registration,
    registrations,
    unimportable,
)
from mlops.core.plugins import load as load_plugin

from .gate import Gate

# Run order of `mlops gate all` and `mlops release`: cheap gates first, so bad data fails fast;
# installed gates run after the built-in ones, by name.
ORDER = ("data", "model", "bench", "load", "checks")
CONTRACT = Contract("gate", "GATE", "run", "mlops.harness.gate.Gate")
_REGISTERED = registrations(GATES, ORDER)
BUILTIN: dict[str, str] = {name: r.value for name, r in _REGISTERED.items() if r.builtin}
"""Built-in gate name -> 'module:attribute' (attribute defaults to GATE)."""
PLUGINS: dict[str, Registration] = {name: r for name, r in _REGISTERED.items() if not r.builtin}
GATE_NAMES: tuple[str, ...] = tuple(_REGISTERED)


def get_gate(name: str) -> Gate:
    """The gate called `name`; MlopsError for unknown names, a missing optional extra or a
    broken plugin."""
    registration = PLUGINS.get(name)
    if name in BUILTIN:
        registration = Registration(GATES, name, BUILTIN[name], OWN_DISTRIBUTION, "")
    if registration is None:
        raise MlopsError(f"unknown gate '{name}'; the gates are {', '.join(GATE_NAMES)}")
    try:
        gate: Gate = load_plugin(registration, CONTRACT)
    except PluginError:
        raise
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not registration.builtin:
            raise unimportable(registration, CONTRACT, error) from None
        if missing.partition(".")[0] == "mlops":
            raise MlopsError(f"the {name} gate is not available in this installation "
                             f"(module {missing} is missing)") from None
        raise MlopsError(f"the {name} gate needs the Python package '{error.name}'; install the "
                         "gate extra: pip install 'mlops-yaml[gate]'") from None
    except Exception as error:  # a plugin may raise anything on import
        raise unimportable(registration, CONTRACT, error) from None
    return gate
