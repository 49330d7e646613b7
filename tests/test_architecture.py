"""Imports point one way: cli -> phases (compiler, harness, serving) -> spec -> core.

Every module of the product is parsed (ast, nothing is imported) and each import, at the top, in
a function or under TYPE_CHECKING, is resolved to an absolute `mlops.*` name and checked against
the rule table below; so is every Python file in the repository for a bare top-level `spec`,
`harness`, ... import, which would load a second copy of our module (or a team's own package of
that name). A failure names the file and line. ARCHITECTURE.md explains the rule.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("core", "spec", "compiler", "harness", "serving", "cli")
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "spec": frozenset({"core"}),
    "compiler": frozenset({"spec", "core"}),
    "harness": frozenset({"spec", "core"}),
    "serving": frozenset({"spec", "core"}),
    "cli": frozenset({"compiler", "harness", "serving", "spec", "core"}),
    "mlops": frozenset(PHASES),  # mlops/__init__.py and __main__.py start the CLI
}
"""Which other packages each package may import (its own modules always)."""
ALLOWED: dict[tuple[str, str], str] = {
    ("harness/release.py", "compiler"): "the release pipeline's first step is `compile --check`, "
                                        "imported when the step runs (never by `mlops gate`)",
    ("harness/batch/scoring.py", "serving"): "batch scoring applies the server's request schema "
                                             "rules, so a row is scored exactly when the server "
                                             "would answer it",
    ("harness/batch/predict.py", "serving"): "predictions carry the model version as the server "
                                             "reports it",
}
"""The imports across phases, and why: (file, package it may import) -> reason."""


def product_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(package, file) for every module of the product below `root`."""
    for package in PHASES:
        for path in sorted((root / package).rglob("*.py")):
            yield package, path
    for path in sorted((root / "mlops").glob("*.py")):
        yield "mlops", path


def imported(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, relative ones resolved."""
    parts = list(path.relative_to(root).parts)
    # the package a relative import starts from (a package's __init__ is in the package itself)
    package = parts[:-1] if parts[0] == "mlops" else ["mlops", *parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            else:
                yield node.lineno, node.module or ""


def layer_problems(root: Path) -> list[str]:
    """'file:line: ...' for every import that runs against the rule table."""
    problems = []
    for package, path in product_files(root):
        display = path.relative_to(root).as_posix()
        for line, name in imported(path, root):
            top, _, rest = name.partition(".")
            if top in PHASES:
                problems.append(f"{display}:{line}: bare import of '{name}' loads a second copy of "
                                f"mlops.{name} (or a team's own '{top}' package); import "
                                f"mlops.{name}")
                continue
            target = rest.partition(".")[0]
            if top != "mlops" or target not in PHASES or target == package:
                continue
            if target not in MAY_IMPORT[package] and (display, target) not in ALLOWED:
                allowed = ", ".join(sorted(MAY_IMPORT[package])) or "nothing outside itself"
                problems.append(f"{display}:{line}: {package} imports {name}, but {package} may "
                                f"import {allowed}")
    return problems


def bare_imports(root: Path, files: list[Path]) -> list[str]:
    """'file:line: ...' for a bare top-level import of one of our packages anywhere."""
    problems = []
    for path in files:
        for line, name in imported(path, root):
            if name.partition(".")[0] in PHASES:
                problems.append(f"{path.relative_to(root).as_posix()}:{line}: bare import of "
                                f"'{name}'; import mlops.{name}")
    return problems


def test_imports_point_one_way() -> None:
    assert layer_problems(ROOT) == []


def test_the_allowed_crossings_are_still_needed() -> None:
    """An exception nobody uses any more is removed from the table, not kept 'just in case'."""
    used = {(path.relative_to(ROOT).as_posix(), name.split(".")[1])
            for _, path in product_files(ROOT) for _, name in imported(path, ROOT)
            if name.startswith("mlops.") and len(name.split(".")) > 1}
    assert set(ALLOWED) <= used


def test_nothing_in_the_repository_imports_our_packages_bare() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    files = [ROOT / name for name in tracked
             if not name.startswith(tuple(f"{package}/" for package in (*PHASES, "mlops")))
             and (ROOT / name).is_file()]
    assert files, "git ls-files found no Python files"
    assert bare_imports(ROOT, files) == []


def test_a_backwards_import_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    sources = {
        "core/telemetry.py": "from __future__ import annotations\n\nimport mlops.harness.gate\n",
        "spec/models.py": "def later():\n    from mlops.compiler import plan\n",
        "serving/app.py": "from mlops.harness.result import GateResult\n",
        "harness/data/gate.py": "from ...compiler.plan import Target\nfrom ..result import x\n",
        "harness/release.py": "from mlops.compiler.compile import prepare\n",
        "compiler/plan.py": "from spec.models import Spec\n",
        "cli/main.py": "from mlops.harness.runner import run_gates\n",
    }
    for name, source in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    assert layer_problems(tmp_path) == [
        "core/telemetry.py:3: core imports mlops.harness.gate, but core may import nothing "
        "outside itself",
        "spec/models.py:2: spec imports mlops.compiler, but spec may import core",
        "compiler/plan.py:1: bare import of 'spec.models' loads a second copy of "
        "mlops.spec.models (or a team's own 'spec' package); import mlops.spec.models",
        "harness/data/gate.py:1: harness imports mlops.compiler.plan, but harness may import "
        "core, spec",
        "serving/app.py:1: serving imports mlops.harness.result, but serving may import core, spec",
    ]
