"""`mlops compile` cold start on the example (vs `mlops validate`), and a 200-spec monorepo.

Each run is a new process, as a developer or CI runs it: imports and template compilation count.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from bench.common import ROOT, VENV_BIN, Measurement, median, wall_times

REPEAT = 5
MONOREPO_SPECS = 200
CASES = sorted(p for p in (ROOT / "tests" / "fixtures" / "specs").iterdir() if p.is_dir())


def _example_copy(folder: Path) -> Path:
    """The example spec with its data, so validate (which checks files) and compile both run."""
    shutil.copy(ROOT / "mlops.yaml", folder / "mlops.yaml")
    shutil.copytree(ROOT / "data", folder / "data")
    return folder / "mlops.yaml"


def _monorepo(folder: Path, count: int) -> None:
    """`count` models under models/, cycling through the fixture specs, each with its own name."""
    (folder / ".git").mkdir()
    for index in range(count):
        case = CASES[index % len(CASES)]
        target = folder / "models" / f"m{index:03d}"
        shutil.copytree(case, target)
        spec = target / "mlops.yaml"
        spec.write_text(re.sub(r"^name: (\S+)$", rf"name: \1-{index:03d}", spec.read_text(),
                               count=1, flags=re.MULTILINE))


def run() -> list[Measurement]:
    mlops = str(VENV_BIN / "mlops")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        spec = _example_copy(folder)
        validate = median(wall_times([mlops, "validate", str(spec)], REPEAT, cwd=folder))
        compile_ = median(wall_times([mlops, "compile", str(spec)], REPEAT, cwd=folder))
        check = median(wall_times([mlops, "compile", "--check", str(spec)], REPEAT, cwd=folder))
        files = len(list((folder / "generated").rglob("*"))) + len(
            list((folder / ".github").rglob("*.yml")))
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        _monorepo(repo, MONOREPO_SPECS)
        monorepo = wall_times([mlops, "compile", str(repo)], 1, cwd=repo)[0]
        monorepo_check = wall_times([mlops, "compile", "--check", str(repo)], 1, cwd=repo)[0]
    return [
        Measurement("compile", "mlops validate, cold (example)", validate, "s",
                    notes=f"median of {REPEAT} new processes"),
        Measurement("compile", "mlops compile, cold (example)", compile_, "s",
                    reference="mlops validate, cold", ratio=compile_ / validate, target="< 1 s",
                    notes=f"{files} files and folders written; median of {REPEAT}"),
        Measurement("compile", "mlops compile --check, cold (example)", check, "s",
                    reference="mlops validate, cold", ratio=check / validate, target="< 1 s"),
        Measurement("compile", f"mlops compile, {MONOREPO_SPECS}-spec monorepo", monorepo, "s",
                    reference="mlops validate, cold", ratio=monorepo / validate,
                    target="< 10 s", notes=f"{monorepo / MONOREPO_SPECS * 1000:.1f} ms per spec"),
        Measurement("compile", f"mlops compile --check, {MONOREPO_SPECS}-spec monorepo",
                    monorepo_check, "s", reference="mlops validate, cold",
                    ratio=monorepo_check / validate, target="< 10 s"),
    ]
