"""A real gate with a bug, registered by tests to prove one gate's crash hides no other."""

from __future__ import annotations

from mlops.harness.gate import GateOptions
from mlops.harness.result import GateResult
from mlops.spec.loader import LoadedSpec


class CrashingGate:
    name = "crashing"

    def run(self, loaded: LoadedSpec, options: GateOptions) -> GateResult:
        return GateResult(gate=self.name, duration_s=len(loaded.spec.name) / 0)


GATE = CrashingGate()
