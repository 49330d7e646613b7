"""Joining the champion's and the challenger's request logs (harness.monitor.challenger) on logs
written in the server's row schema: regression tolerance, ab traffic that joins nothing, too
few requests, and rows that cannot be used."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mlops.harness.monitor.challenger import judge, read_answers
from mlops.harness.monitor.config import ChallengerRules
from mlops.harness.stats import score_categories
from tests.monitor.monitor_helpers import write_jsonl

NOW = float(int(time.time())) + 60  # after the files are written: their mtime is in the window
RULES = ChallengerRules(min_agreement=0.9, tolerance=0.1, method="psi", max_prediction_shift=0.2,
                        max_metric_drop=None, min_requests=4)


def _row(request_id: str, variant: str | None, prediction: Any, score: float,
         stamp: float = NOW - 10, model: str = "tiny") -> dict[str, Any]:
    row: dict[str, Any] = {"timestamp": stamp, "request_id": request_id, "model": model, "row": 0,
                           "prediction": prediction, "score": score}
    if variant is not None:
        row["variant"] = variant
    return row


def _checks(folder: Path, task: str, rules: ChallengerRules = RULES) -> dict[str, Any]:
    verdict = judge(rules, task, read_answers(folder, NOW - 3600, NOW, "tiny"), None, None, [])
    return {check.name: check for check in verdict.checks}


def test_regression_agrees_within_the_tolerance(tmp_path: Path) -> None:
    differences = [0.0, 0.05, 0.1, 0.5, -0.3]
    champion = [_row(f"r{i}", "champion", 2.0 + i, 2.0 + i) for i in range(5)]
    challenger = [_row(f"r{i}", "challenger", 2.0 + i + d, 2.0 + i + d)
                  for i, d in enumerate(differences)]
    write_jsonl(tmp_path / "requests-tiny.jsonl", champion)
    write_jsonl(tmp_path / "requests-tiny-challenger.jsonl", challenger)
    check = _checks(tmp_path, "regression")["challenger.agreement"]
    assert (check.status, check.observed) == ("fail", 0.6)
    assert check.message == ("challenger agreement with the champion (within 0.1) on 5 requests "
                             "0.6, configured to fail when below 0.9")


def test_ab_traffic_joins_nothing_and_compares_what_each_answered(tmp_path: Path) -> None:
    """ab: each request went to one model, so there is no agreement, only the shift."""
    champion = [_row(f"c{i}", None, "yes" if i % 2 else "no", 0.6) for i in range(6)]
    challenger = [_row(f"x{i}", "challenger", "yes" if i < 5 else "no", 0.7) for i in range(6)]
    write_jsonl(tmp_path / "requests-tiny.jsonl", champion + challenger)
    checks = _checks(tmp_path, "binary_classification")
    assert checks["challenger.window"].message == (
        "6 champion rows, 6 challenger rows, 0 answered by both (joined on request id and row)")
    assert (checks["challenger.agreement"].status, checks["challenger.agreement"].message) == (
        "warn", "agreement not judged: 0 requests answered by both models, at least 4 are needed "
                "(monitors.challenger.min_requests; ab traffic joins none: each request is "
                "answered by one model)")
    expected = score_categories("psi", {"no": 3, "yes": 3}, {"no": 1, "yes": 5}).score
    assert checks["challenger.prediction_shift"].observed == pytest.approx(expected)


def test_too_few_requests_only_warn(tmp_path: Path) -> None:
    rows = [_row(f"r{i}", variant, "no", 0.1) for i in range(2)
            for variant in ("champion", "challenger")]
    write_jsonl(tmp_path / "requests.jsonl", rows)
    checks = _checks(tmp_path, "binary_classification")
    assert {name: check.status for name, check in checks.items()} == {
        "challenger.window": "pass", "challenger.agreement": "warn",
        "challenger.prediction_shift": "warn"}


def test_unusable_rows_are_counted_and_others_left_out(tmp_path: Path) -> None:
    rows = [_row(f"r{i}", variant, "no", 0.1) for i in range(4)
            for variant in ("champion", "challenger")]
    rows += [_row("old", "challenger", "no", 0.1, stamp=NOW - 7200),
             _row("other", "challenger", "no", 0.1, model="another"),
             {**_row("noscore", "challenger", "no", 0.1), "score": None}]
    write_jsonl(tmp_path / "requests.jsonl", rows, extra_lines=["{torn"])
    checks = _checks(tmp_path, "binary_classification")
    assert (checks["challenger.window"].status, checks["challenger.window"].message) == (
        "warn", "4 champion rows, 4 challenger rows, 4 answered by both (joined on request id "
                "and row); 2 unusable rows skipped")
    assert (checks["challenger.agreement"].status, checks["challenger.agreement"].observed) == (
        "pass", 1.0)
