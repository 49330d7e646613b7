"""The registry of release gates: every built-in gate is listed here, and only here.

Each gate lives in its own module that exposes `GATE`, an object following `harness.gate.Gate`.
Modules are imported only when their gate runs, so `mlops gate data` never imports onnxruntime.
"""

from __future__ import annotations

import importlib

from spec.errors import MlopsError

from ..gate import Gate

# Run order of `mlops gate all` and `mlops release`: cheap gates first, so bad data fails fast.
BUILTIN: dict[str, str] = {
    "data": "harness.gates.data",
    "model": "harness.gates.model",
    "bench": "harness.gates.bench",
    "load": "harness.gates.load",
}
GATE_NAMES: tuple[str, ...] = tuple(BUILTIN)
_OWN_PACKAGES = {"harness", "spec", "compiler", "serving", "mlops"}


def get_gate(name: str) -> Gate:
    """The gate called `name`; MlopsError for unknown names or a missing optional extra."""
    module_name = BUILTIN.get(name)
    if module_name is None:
        raise MlopsError(f"unknown gate '{name}'; the gates are {', '.join(GATE_NAMES)}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing.partition(".")[0] in _OWN_PACKAGES:
            raise MlopsError(f"the {name} gate is not available in this installation "
                             f"(module {missing} is missing)") from None
        raise MlopsError(f"the {name} gate needs the Python package '{error.name}'; install the "
                         "gate extra: pip install 'mlops-yaml[gate]'") from None
    gate: Gate = module.GATE
    return gate
