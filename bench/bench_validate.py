"""`mlops validate` cold start: wall time and import footprint, against a bare Python start."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import ROOT, VENV_BIN, Measurement, median, wall_times

REPEAT = 7
_FOOTPRINT = """
import json, resource, sys
from mlops.cli.main import main
try:
    main(["validate", "mlops.yaml"])
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "onnxruntime", "sklearn", "locust", "numpy", "pandas")
               if m in sys.modules)
print(json.dumps({"modules": len(sys.modules), "heavy": heavy,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run() -> list[Measurement]:
    python = [sys.executable, "-c", "pass"]
    validate = [str(VENV_BIN / "mlops"), "validate", "mlops.yaml"]
    bare = median(wall_times(python, REPEAT))
    cold = median(wall_times(validate, REPEAT))
    footprint = json.loads(subprocess.run([sys.executable, "-c", _FOOTPRINT], cwd=ROOT, check=True,
                                          capture_output=True, text=True).stdout.splitlines()[-1])
    return [
        Measurement("validate", "python -c pass (cold)", bare * 1000, "ms"),
        Measurement("validate", "mlops validate mlops.yaml (cold)", cold * 1000, "ms",
                    reference="python -c pass", ratio=cold / bare, target="well under 1000 ms"),
        Measurement("validate", "modules imported by validate", footprint["modules"], "modules",
                    notes=f"heavy: {', '.join(footprint['heavy']) or 'none'}"),
        Measurement("validate", "peak RSS of validate", footprint["max_rss_kb"] / 1024, "MiB"),
    ]
