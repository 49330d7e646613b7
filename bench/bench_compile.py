"""`mlops compile` cold start on the example (vs `mlops validate`), and a 200-spec monorepo.

Each run is a new process, as a developer or CI runs it: imports and template compilation count.
"""

from __future__ import annotations

import re
import resource
import shutil
import tempfile
from collections.abc import Sequence
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


def timed(command: Sequence[str], repeat: int, cwd: Path) -> tuple[float, float]:
    """(median wall seconds, mean CPU seconds) of `repeat` new processes; CPU time stays
    meaningful when other jobs share the 2 cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = median(wall_times(command, repeat, cwd=cwd))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / repeat
    return wall, cpu


def run() -> list[Measurement]:
    mlops = str(VENV_BIN / "mlops")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        spec = str(_example_copy(folder))
        validate, validate_cpu = timed([mlops, "validate", spec], REPEAT, folder)
        compile_, compile_cpu = timed([mlops, "compile", spec], REPEAT, folder)
        check, check_cpu = timed([mlops, "compile", "--check", spec], REPEAT, folder)
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        _monorepo(repo, MONOREPO_SPECS)
        monorepo, monorepo_cpu = timed([mlops, "compile", str(repo)], 1, repo)
        monorepo_check, monorepo_check_cpu = timed([mlops, "compile", "--check", str(repo)], 1,
                                                   repo)

    def cpu(seconds: float, reference: float) -> str:
        return f"CPU {seconds:.2f} s ({seconds / reference:.2f}x validate's CPU)"

    return [
        Measurement("compile", "mlops validate, cold (example)", validate, "s",
                    notes=f"median of {REPEAT} new processes; CPU {validate_cpu:.2f} s"),
        Measurement("compile", "mlops compile, cold (example)", compile_, "s",
                    reference="mlops validate, cold", ratio=compile_ / validate, target="< 1 s",
                    notes=cpu(compile_cpu, validate_cpu)),
        Measurement("compile", "mlops compile --check, cold (example)", check, "s",
                    reference="mlops validate, cold", ratio=check / validate, target="< 1 s",
                    notes=cpu(check_cpu, validate_cpu)),
        Measurement("compile", f"mlops compile, {MONOREPO_SPECS}-spec monorepo", monorepo, "s",
                    reference="mlops validate, cold", ratio=monorepo / validate,
                    target="< 10 s", notes=cpu(monorepo_cpu, validate_cpu)),
        Measurement("compile", f"mlops compile --check, {MONOREPO_SPECS}-spec monorepo",
                    monorepo_check, "s", reference="mlops validate, cold",
                    ratio=monorepo_check / validate, target="< 10 s",
                    notes=cpu(monorepo_check_cpu, validate_cpu)),
    ]
