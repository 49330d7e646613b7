"""Judging serving.challenger on real traffic: its request log joined to the champion's.

Both servers log a sampled request under the same `request_id` and `row` (the sampling follows
the id, see serving/request_log.py), each row naming its `variant`. Joined rows give the
agreement (the same class, or values within `tolerance` for regression). The prediction shift is
the drift statistic of the challenger's predictions against the champion's: on the joined rows
(shadow: the same requests), or on everything each answered when nothing joins (ab: each request
goes to one model). With feedback labels, each model's live metric on its labelled rows gives
the metric drop. Too few rows only warns, as an empty drift window does: a quiet hour is no
verdict on the challenger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from mlops.core import telemetry
from mlops.core.catalogue import DRIFT_LABELS, LOWER_IS_BETTER, METRIC_LABELS
from mlops.spec.threshold import Threshold

from ..data.drift import drift_threshold
from ..result import CheckResult
from ..stats import DriftScore, score_categories, score_numeric
from .config import CHECK, ChallengerRules, MonitorConfig
from .feedback import Feedback, Key
from .performance import join, live_value
from .prometheus import Samples
from .requestlog import CHAMPION, Problem, Served, file_records, log_files

CHALLENGER = "challenger"
SHIFT_BINS = 10


@dataclass
class Answers:
    """Every logged answer of both variants in the window, by (request_id, row)."""

    champion: dict[Key, Served] = field(default_factory=dict)
    challenger: dict[Key, Served] = field(default_factory=dict)
    skipped: int = 0
    unreadable: list[Problem] = field(default_factory=list)

    def joined(self) -> list[Key]:
        return sorted(self.champion.keys() & self.challenger.keys())


@dataclass(frozen=True)
class Verdict:
    """The checks, and the values the monitor exports as metrics (None: not computed)."""

    checks: list[CheckResult]
    agreement: float | None = None
    shift: DriftScore | None = None
    metric_drop: float | None = None


def challenger_checks(config: MonitorConfig, folder: Path | str, now: float,
                      feedback: Feedback | None, labels: Sequence[str],
                      samples: Samples) -> list[CheckResult]:
    """The window's verdict on the challenger; its numbers go to `samples` (the alert rules and
    the Pushgateway read them)."""
    assert config.challenger is not None
    answers = read_answers(folder, now - config.window_s, now, config.model)
    metric = config.performance.metric if config.performance is not None else None
    verdict = judge(config.challenger, config.task, answers, feedback, metric, labels)
    model = {"model": config.model}
    if verdict.agreement is not None:
        samples.add(telemetry.CHALLENGER_AGREEMENT, verdict.agreement, model)
    if verdict.shift is not None:
        samples.add(telemetry.CHALLENGER_SHIFT, verdict.shift.score,
                    {**model, "method": verdict.shift.method})
    if verdict.metric_drop is not None and metric is not None:
        samples.add(telemetry.CHALLENGER_METRIC_DROP, verdict.metric_drop,
                    {**model, "metric": metric})
    return verdict.checks


def read_answers(folder: Path | str, start: float, end: float, model: str) -> Answers:
    """Rows of `model` with start <= timestamp < end, split by variant, from a local folder or
    an object-store prefix; rows without a usable request id, prediction or score are counted,
    not fatal."""
    answers = Answers()
    for file in log_files(folder):
        if file.mtime < start:
            continue
        for _, record in file_records(file, answers.unreadable):
            _add(answers, record, start, end, model)
    return answers


def _add(answers: Answers, record: Any, start: float, end: float, model: str) -> None:
    if not isinstance(record, Mapping) or record.get("model", model) != model:
        answers.skipped += not isinstance(record, Mapping)
        return
    stamp, score, row = record.get("timestamp"), record.get("score"), record.get("row")
    if not (_number(stamp) and start <= stamp < end):
        return
    request_id = record.get("request_id")
    if not (_number(score) and isinstance(row, int) and not isinstance(row, bool)
            and isinstance(request_id, str) and request_id and "prediction" in record):
        answers.skipped += 1
        return
    side = answers.challenger if record.get("variant") == CHALLENGER else (
        answers.champion if record.get("variant", CHAMPION) == CHAMPION else None)
    if side is not None:
        side[(request_id, row)] = Served(record["prediction"], float(score))


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def judge(rules: ChallengerRules, task: str, answers: Answers, feedback: Feedback | None,
          metric: str | None, labels: Sequence[str]) -> Verdict:
    """Agreement, prediction shift and (with feedback and a metric) the metric drop."""
    joined = answers.joined()
    checks = [_window_check(answers, joined)]
    agreement = _agreement(rules, task, answers, joined, checks)
    shift = _shift(rules, task, answers, joined, checks)
    drop = None
    if feedback is not None and metric is not None:
        drop = _metric_drop(rules, task, answers, feedback, metric, labels, checks)
    return Verdict(checks, agreement, shift, drop)


def _window_check(answers: Answers, joined: list[Key]) -> CheckResult:
    aside = f"; {answers.skipped} unusable rows skipped" if answers.skipped else ""
    aside += "".join(f"; {problem}" for problem in answers.unreadable)
    return CHECK("challenger.window", "warn" if aside else "pass",
                 f"{len(answers.champion)} champion rows, {len(answers.challenger)} challenger "
                 f"rows, {len(joined)} answered by both (joined on request id and row){aside}",
                 observed=len(joined))


def _agreement(rules: ChallengerRules, task: str, answers: Answers, joined: list[Key],
               checks: list[CheckResult]) -> float | None:
    if len(joined) < rules.min_requests:
        checks.append(CHECK("challenger.agreement", "warn",
                            f"agreement not judged: {len(joined)} requests answered by both "
                            f"models, at least {rules.min_requests} are needed "
                            "(monitors.challenger.min_requests; ab traffic joins none: each "
                            "request is answered by one model)", observed=len(joined)))
        return None
    same = sum(_agree(task, rules.tolerance, answers.champion[key], answers.challenger[key])
               for key in joined)
    agreement = same / len(joined)
    what = ("within " + f"{rules.tolerance:g}" if task == "regression" else "the same class")
    checks.append(CHECK.compare(
        "challenger.agreement", f"challenger agreement with the champion ({what}) on "
        f"{len(joined)} requests", agreement, Threshold.of(">=", rules.min_agreement),
        details={"requests": len(joined), "agreed": same}))
    return agreement


def _agree(task: str, tolerance: float, champion: Served, challenger: Served) -> bool:
    if task == "regression":
        return abs(champion.score - challenger.score) <= tolerance
    return str(champion.prediction) == str(challenger.prediction)


def _shift(rules: ChallengerRules, task: str, answers: Answers, joined: list[Key],
           checks: list[CheckResult]) -> DriftScore | None:
    if joined:
        champion = [answers.champion[key] for key in joined]
        challenger = [answers.challenger[key] for key in joined]
    else:
        champion, challenger = list(answers.champion.values()), list(answers.challenger.values())
    fewest = min(len(champion), len(challenger))
    if fewest < rules.min_requests:
        checks.append(CHECK("challenger.prediction_shift", "warn",
                            f"prediction shift not judged: {fewest} rows on the smaller side, "
                            f"at least {rules.min_requests} are needed "
                            "(monitors.challenger.min_requests)", observed=fewest))
        return None
    if task == "regression":
        score = score_numeric(rules.method, np.array([s.score for s in champion]),
                              np.array([s.score for s in challenger]), SHIFT_BINS)
        what = "predicted values"
    else:
        score = score_categories(rules.method, _counts(champion), _counts(challenger))
        what = "predicted classes"
    checks.append(CHECK.compare(
        "challenger.prediction_shift", f"challenger's {what} vs the champion's "
        f"({DRIFT_LABELS[score.method]}, {fewest} rows)", score.score,
        drift_threshold(score.method, rules.max_prediction_shift),
        details={"method": score.method, **score.details}))
    return score


def _counts(served: Sequence[Served]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in served:
        label = str(answer.prediction)
        counts[label] = counts.get(label, 0) + 1
    return counts


def _metric_drop(rules: ChallengerRules, task: str, answers: Answers, feedback: Feedback,
                 metric: str, labels: Sequence[str], checks: list[CheckResult]) -> float | None:
    """Each model's metric on the feedback rows it answered; the drop is the challenger's loss
    (for an error metric, its rise)."""
    champion = join(feedback, answers.champion, task, labels)
    challenger = join(feedback, answers.challenger, task, labels)
    fewest = min(len(champion.truth), len(challenger.truth))
    name = f"challenger.{metric}"
    if fewest == 0 or (task == "multiclass_classification" and metric == "log_loss"):
        checks.append(CHECK(name, "skip", f"challenger {metric} not compared: "
                            + ("the request log keeps only the top class probability"
                               if fewest else "no feedback row matched both models' answers")))
        return None
    classes = max(2, len(labels))
    ours, theirs = (live_value(metric, task, live, classes) for live in (champion, challenger))
    drop = (theirs - ours) if metric in LOWER_IS_BETTER else (ours - theirs)
    label = (f"challenger {METRIC_LABELS.get(metric, metric)} {theirs:.4g} on "
             f"{len(challenger.truth)} labelled rows vs the champion's {ours:.4g} on "
             f"{len(champion.truth)}: drop")
    if rules.max_metric_drop is None:
        checks.append(CHECK(name, "pass", f"{label} {drop:.4g} (no max_metric_drop set)",
                            observed=drop))
    else:
        checks.append(CHECK.compare(name, label, drop, Threshold.of("<=", rules.max_metric_drop),
                                    details={"champion": ours, "challenger": theirs}))
    return None if math.isnan(drop) else drop
