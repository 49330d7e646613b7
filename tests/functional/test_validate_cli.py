"""`mlops validate` on the real examples, and what it must never import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = [ROOT / "mlops.yaml", *sorted((ROOT / "examples").glob("*/mlops.yaml"))]
HEAVY = ("torch", "onnxruntime", "sklearn", "locust", "numpy", "pandas", "pyarrow", "scipy")


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_validate(spec: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mlops", "validate", str(spec)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{spec}: ok (")


def test_validate_imports_nothing_heavy() -> None:
    probe = (
        "import json, sys\n"
        "from mlops.cli.main import main\n"
        "try:\n    main(['validate', 'mlops.yaml'])\nexcept SystemExit as exit:\n    code = exit.code\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.splitlines()[-1]
    assert json.loads(out) == [0, []]
