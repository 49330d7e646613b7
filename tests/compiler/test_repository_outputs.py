"""This repository dogfoods its compiler: generated/ and .github/workflows/ match mlops.yaml."""

from __future__ import annotations

from mlops.compiler.compile import prepare
from mlops.compiler.writer import CHECK_LABELS, Status
from tests.compiler.compiler_helpers import ROOT


def test_repository_outputs_are_up_to_date() -> None:
    (unit,) = prepare([ROOT / "mlops.yaml"])
    problems = [f"{CHECK_LABELS[d.status]}: {d.path}" for d in unit.decisions
                if d.status is not Status.IDENTICAL]
    assert problems == [], "run `mlops compile mlops.yaml` and commit the result"
