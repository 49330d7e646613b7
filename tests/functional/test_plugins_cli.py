"""`mlops plugins` and installed gates, as a user runs them: what is registered, from which
distribution, whether it loads; a broken gate fails only itself."""

from __future__ import annotations

import json
import sys
from importlib.metadata import distributions
from pathlib import Path

from tests.compiler.dist_helpers import EXTRA_TARGET, RAISES_ON_IMPORT, install, mlops
from tests.projects import breast_cancer_project

ROOT = Path(__file__).resolve().parents[2]


def _installed_version(name: str) -> str:
    """`name`'s version as the CLI subprocesses (run elsewhere) see it. `python -m pytest` puts the
    checkout on this process's path, and its mlops_yaml.egg-info, which any wheel build of the
    checkout rewrites (other tests build one), can name a later commit than the install."""
    path = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT]
    return str(next(distributions(name=name, path=path)).version)


OWN = f"mlops-yaml {_installed_version('mlops-yaml')}"
FAIRNESS_GATE = '''\
from mlops.harness.result import CheckResult, GateResult


class FairnessGate:
    name = "fairness"

    def run(self, loaded, options):
        return GateResult(gate=self.name, checks=[CheckResult(
            gate=self.name, name="groups", status="pass",
            message=f"{len(loaded.spec.data.features)} features, no protected attribute")])


GATE = FairnessGate()
'''
BUILT_IN_TARGETS = [
    f"  schema          ok      {OWN} (mlops.compiler.targets.schema:TARGET)",
    f"  github_actions  ok      {OWN} (mlops.compiler.targets.github_actions:TARGET)",
    f"  docker          ok      {OWN} (mlops.compiler.targets.docker:TARGET)",
    f"  kubernetes      ok      {OWN} (mlops.compiler.targets.kubernetes:TARGET)",
    f"  monitoring      ok      {OWN} (mlops.compiler.targets.monitoring:TARGET)",
    f"  load            ok      {OWN} (mlops.compiler.targets.load:TARGET)",
]


def test_lists_the_built_in_targets_and_gates(tmp_path: Path) -> None:
    done = mlops(tmp_path / "empty", "plugins", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "targets (entry points 'mlops.targets'):", *BUILT_IN_TARGETS,
        "gates (entry points 'mlops.gates'):",
        f"  data    ok      {OWN} (mlops.harness.data.gate:GATE)",
        f"  model   ok      {OWN} (mlops.harness.model.gate:GATE)",
        f"  bench   ok      {OWN} (mlops.harness.bench.gate:GATE)",
        f"  load    ok      {OWN} (mlops.harness.load.gate:GATE)",
        f"  checks  ok      {OWN} (mlops.harness.checks.gate:GATE)",
    ]


def acme(site: Path) -> None:
    install(site, "acme-mlops", "2.1",
            {"mlops.targets": {"extra": "acme_extra:TARGET"},
             "mlops.gates": {"fairness": "acme_fairness:GATE", "broken": "acme_broken:GATE",
                             "data": "acme_fairness:GATE"}},
            {"acme_extra.py": EXTRA_TARGET, "acme_fairness.py": FAIRNESS_GATE,
             "acme_broken.py": RAISES_ON_IMPORT})


def test_installed_plugins_are_listed_and_a_broken_one_is_named(tmp_path: Path) -> None:
    acme(tmp_path / "site")
    done = mlops(tmp_path / "site", "plugins", cwd=tmp_path)
    broken = tmp_path / "site" / "acme_broken.py"
    assert done.returncode == 1
    assert done.stderr == "1 plugin(s) cannot be used: broken\n"
    assert done.stdout.splitlines() == [
        "targets (entry points 'mlops.targets'):", *BUILT_IN_TARGETS,
        "  extra           ok      acme-mlops 2.1 (acme_extra:TARGET)",
        "gates (entry points 'mlops.gates'):",
        f"  data      ok      {OWN} (mlops.harness.data.gate:GATE)",
        f"  model     ok      {OWN} (mlops.harness.model.gate:GATE)",
        f"  bench     ok      {OWN} (mlops.harness.bench.gate:GATE)",
        f"  load      ok      {OWN} (mlops.harness.load.gate:GATE)",
        f"  checks    ok      {OWN} (mlops.harness.checks.gate:GATE)",
        "  broken    broken  acme-mlops 2.1 (acme_broken:GATE)",
        "      gate plugin 'broken' from acme-mlops 2.1 (acme_broken:GATE): cannot be imported: "
        f"{broken}:3: RuntimeError: this plugin is broken",
        "  fairness  ok      acme-mlops 2.1 (acme_fairness:GATE)",
        "  ignored: gate plugin 'data' from acme-mlops 2.1 (acme_fairness:GATE): ignored, the name "
        f"is already registered by {OWN} (mlops.harness.data.gate:GATE)",
    ]


def test_an_installed_gate_runs_and_a_broken_one_fails_alone(tmp_path: Path) -> None:
    acme(tmp_path / "site")
    spec = breast_cancer_project(tmp_path / "p")
    done = mlops(tmp_path / "site", "gate", "fairness", str(spec), "--report-dir", "out",
                 cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "breast-cancer: passed\n"), done.stderr
    report = json.loads((tmp_path / "out/report-fairness.json").read_text())
    assert [(g["gate"], g["checks"][0]["message"]) for g in report["gates"]] == [
        ("fairness", "30 features, no protected attribute")]
    failed = mlops(tmp_path / "site", "gate", "broken", str(spec), "--report-dir", "out",
                   cwd=tmp_path)
    assert (failed.returncode, failed.stdout) == (1, "breast-cancer: FAILED (1 failing checks: "
                                                     "broken/gate)\n")
    assert (f"  error: gate: gate plugin 'broken' from acme-mlops 2.1 (acme_broken:GATE): cannot "
            f"be imported: {tmp_path / 'site' / 'acme_broken.py'}:3: RuntimeError: this plugin is "
            "broken") in failed.stderr.splitlines()
