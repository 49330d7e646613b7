"""The server's import footprint: only the `serve` extra, never the training or load stack."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sklearn", "locust", "gevent", "skl2onnx", "pandas", "onnx", "scipy")


def test_serving_imports_no_training_or_load_stack() -> None:
    code = ("import sys, mlops.serving.app, mlops.serving.server, mlops.cli.commands.serve, mlops.cli.main; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
