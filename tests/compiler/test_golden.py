"""Every case compiles to exactly its golden tree (all targets); `pytest --update-golden` rewrites.

A golden tree is `tests/golden/<case>/`, the whole scratch repository after `mlops compile`
minus the inputs (the spec and its data), so a change in any target shows up as a diff in review.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from mlops.spec.loader import load_spec
from tests.compiler.compiler_helpers import CASES, GOLDEN, compile_case, copy_case, tree


def outputs(root: Path, inputs: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in tree(root).items() if path not in inputs}


def describe_difference(expected: dict[str, bytes], actual: dict[str, bytes]) -> str:
    lines = [f"missing from the output: {p}" for p in sorted(set(expected) - set(actual))]
    lines += [f"not in the golden tree: {p}" for p in sorted(set(actual) - set(expected))]
    for path in sorted(set(expected) & set(actual)):
        if expected[path] != actual[path]:
            lines += difflib.unified_diff(
                expected[path].decode(errors="replace").splitlines(),
                actual[path].decode(errors="replace").splitlines(),
                f"golden/{path}", f"compiled/{path}", lineterm="")
    return "\n".join(lines)


def test_there_are_enough_cases() -> None:
    assert {"breast-cancer", "regression", "digits-torch", "canary-argocd", "flux-minimal"} <= set(
        CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_spec_is_valid_with_its_data(case: str) -> None:
    load_spec(CASES[case] / "mlops.yaml")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_tree(case: str, tmp_path: Path, update_golden: bool) -> None:
    """A tree compiled for this test alone: what other tests do to the shared one (a locust run
    leaving __pycache__ beside the locustfile, say) cannot change the comparison."""
    inputs = tree(copy_case(case, tmp_path / "inputs").parent)
    actual = outputs(compile_case(case, tmp_path / "compiled"), inputs)
    golden = GOLDEN / case
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        for path, data in actual.items():
            (golden / path).parent.mkdir(parents=True, exist_ok=True)
            (golden / path).write_bytes(data)
    expected = tree(golden) if golden.is_dir() else {}
    assert expected, f"no golden tree for {case}; run `pytest --update-golden` and review it"
    assert actual == expected, (describe_difference(expected, actual) +
                                "\n(run `pytest --update-golden` if the change is intended)")
