"""One part of a dataset scored by the spec's model: the task each engine runs for `mlops predict`.

Rows reach the model exactly as they would reach the server: through the same model contract
(`core.runtime.OnnxModel`) and the same request schema rules (`serving.schema.SchemaRules`), so a
row is scored in a batch exactly when the server would answer it. A value of the wrong type is
never scored; a row breaking a schema rule (null, allowed values, min/max) stops the run when
`serving.on_schema_violation` is `reject`, and is scored and counted when it is `log`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from mlops.core.columns import Columns, from_arrow, length, take
from mlops.core.contract import ColumnRule, Task
from mlops.core.errors import MlopsError
from mlops.core.runtime import FeedError, OnnxModel
from mlops.harness.data.datasets import MalformedRows, Part, TypeProblem
from mlops.serving.errors import ClientError
from mlops.serving.schema import SchemaRules, Violation

from .output import OutputFolder
from .screen import may_break

LABEL = "label"
PREDICTION = "prediction"
PROBABILITY = "probability_"
VERSION, DIGEST, SCORED_AT = "model_version", "model_digest", "scored_at"
REPEATED = (LABEL, VERSION, DIGEST)
"""The text columns with a handful of values, written dictionary-encoded; a dictionary over the
keys and the scores would be given up once it outgrew its page, after paying for the attempt."""


@dataclass(frozen=True)
class ModelSource:
    """The model and its contract, small enough to send to every task (picklable)."""

    onnx: bytes
    digest: str
    version: str
    rules: tuple[ColumnRule, ...]
    task: Task
    labels: tuple[str, ...] | None
    output: str | None
    artifact: str


@dataclass(frozen=True)
class ScoringPlan:
    """What every part's task needs besides the part itself."""

    model: ModelSource
    keys: tuple[str, ...]
    reject: bool
    allow_non_finite: bool
    scored_at: datetime
    output: OutputFolder


@dataclass
class PartScore:
    """One part's outcome, as its task returns it; row numbers count from the part's first row."""

    rows: int
    name: str | None
    problems: dict[str, TypeProblem] = field(default_factory=dict)
    malformed: MalformedRows = field(default_factory=MalformedRows)
    violations: int = 0
    first_violation: Violation | None = None
    refused: str | None = None
    """Why a row could not be scored (a wrong type, a value the model cannot take), with its row."""
    refused_row: int = 0


@lru_cache(maxsize=4)
def model_session(model: ModelSource) -> OnnxModel:
    """One onnxruntime session per model per process (a Ray worker scores many parts)."""
    return OnnxModel(model.onnx, model.rules, model.task, labels=model.labels,
                     output=model.output, artifact=model.artifact)


def score_part(job: tuple[ScoringPlan, Part]) -> PartScore:
    """Read one part, score every row, write its predictions to the staging folder."""
    plan, part = job
    model = model_session(plan.model)
    rules = SchemaRules(plan.model.rules, plan.allow_non_finite)
    tables: list[pa.Table] = []
    score = PartScore(0, None)
    stopped = False  # the part is still read to its end: later rows need its row count
    for batch in part.batches():
        if stopped:
            continue
        columns = from_arrow(batch.data, plan.model.rules)
        try:
            found = rules.check_columns(may_break(rules.rules, columns), "")
            values = model.predict_proba(columns) if model.classifier else model.predict(columns)
        except (ClientError, FeedError) as error:
            row = _first_refused(rules, model, columns)
            score.refused = error.message if isinstance(error, ClientError) else str(error)
            score.refused_row = batch.part_start + row + 1
            stopped = True
            continue
        if found:
            score.violations += len(found)
            if score.first_violation is None:
                first = found[0]
                score.first_violation = Violation(batch.part_start + first.row + 1, first.feature,
                                                  first.rule, first.message)
            stopped = plan.reject
        tables.append(_predictions(plan, model, batch.data, values))
    if tables and not (stopped or part.problems or part.malformed.count):
        score.name = plan.output.write_part(part.index, pa.concat_tables(tables), REPEATED)
    return _finish(score, part)


def _finish(score: PartScore, part: Part) -> PartScore:
    score.rows, score.problems, score.malformed = part.rows, part.problems, part.malformed
    return score


def _first_refused(rules: SchemaRules, model: OnnxModel, columns: Columns) -> int:
    """The first row (0-based) that cannot be scored on its own; 0 if none alone fails. Only
    looked for once a batch has failed, so the common path checks whole batches."""
    for row in range(length(columns)):
        one = take(columns, slice(row, row + 1))
        try:
            rules.check_columns(one, "")
            model.feed(one)
        except (ClientError, FeedError):
            return row
    return 0


def _predictions(plan: ScoringPlan, model: OnnxModel, data: pa.RecordBatch,
                 values: Any) -> pa.Table:
    """The key columns as read, then the answer, then the model's identity and the time."""
    rows = data.num_rows
    columns: dict[str, pa.Array] = {}
    for key in plan.keys:
        columns[key] = data.column(key)
    if model.classifier:
        classes = list(model.classes)
        probabilities = np.asarray(values, dtype=np.float64).reshape(rows, len(classes))
        best = pa.array(probabilities.argmax(axis=1))
        columns[LABEL] = pa.array([str(label) for label in classes], pa.string()).take(best)
        for position, label in enumerate(classes):
            columns[f"{PROBABILITY}{label}"] = pa.array(probabilities[:, position], pa.float64())
    else:
        columns[PREDICTION] = pa.array(np.asarray(values, dtype=np.float64).reshape(rows),
                                       pa.float64())
    columns[VERSION] = pa.repeat(pa.scalar(plan.model.version, pa.string()), rows)
    columns[DIGEST] = pa.repeat(pa.scalar(plan.model.digest, pa.string()), rows)
    columns[SCORED_AT] = pa.repeat(pa.scalar(plan.scored_at, pa.timestamp("ms", tz="UTC")), rows)
    return pa.table(columns)


def require_keys(header: Sequence[str], keys: Sequence[str], display: str) -> None:
    """Every key column must be in the input; raises MlopsError naming the first missing."""
    for key in keys:
        if key not in header:
            raise MlopsError(f"{display}: key column '{key}' is not in the input (it has "
                             f"{', '.join(header)})")
