"""`mlops predict`: the spec's model over a whole dataset, predictions written as Parquet.

The "predict in batches into a shared store" serving pattern. The input is any data location the
spec accepts (a file, a folder, a glob, a Hive-partitioned folder; local or in object storage); it
is cut into the same parts as the data gate's (files x row groups, or byte ranges), each scored by
one task of the engine (this machine's cores, or one Ray task per part), and each written as one
Parquet file, so memory is bounded by a part and the output does not depend on the worker count.
Problems are reported after every part is read, with the file and row they are in, and then
nothing is written (see `output.py`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from mlops.core.digest import digest_of
from mlops.core.errors import MlopsError
from mlops.core.runtime import ModelError
from mlops.core.storage import DataFile, open_location, resolve
from mlops.harness.data.datasets import FileFormat
from mlops.harness.data.fileset import FileSet
from mlops.harness.engine.base import Engine
from mlops.harness.engine.progress import PartProgress
from mlops.serving.lineage import SHORT_DIGEST, VERSION_ENV
from mlops.spec.loader import LoadedSpec
from mlops.spec.models import ColumnType

from .output import OutputFolder
from .scoring import ModelSource, PartScore, ScoringPlan, model_session, require_keys, score_part

FORMATS: dict[str, FileFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class Scored:
    """What a finished run wrote."""

    rows: int
    files: int
    output: str
    violations: int
    seconds: float
    engine: str

    def describe(self) -> str:
        logged = (f"; {self.violations} schema violation(s) scored and counted "
                  "(serving.on_schema_violation: log)" if self.violations else "")
        return (f"{self.rows:,} rows scored into {self.files} file(s) in {self.output} "
                f"({self.engine} engine, {self.seconds:.1f} s){logged}")


def model_source(loaded: LoadedSpec, onnx: bytes, version: str | None) -> ModelSource:
    """The spec's model with its contract; the version as the server reports it (the option,
    else MLOPS_MODEL_VERSION, else the digest's short form)."""
    spec = loaded.spec
    digest = digest_of(onnx)
    chosen = version or os.environ.get(VERSION_ENV) or digest.removeprefix("sha256:")[:SHORT_DIGEST]
    return ModelSource(onnx, digest, chosen, tuple(spec.data.feature_rules()), spec.model.task,
                       tuple(spec.model.labels) if spec.model.labels else None,
                       spec.model.output, spec.model.artifact)


def predict(loaded: LoadedSpec, model: ModelSource, source: str, destination: str,
            keys: Sequence[str], engine: Engine) -> Scored:
    """Score the dataset at `source` into the folder `destination` (both spec-relative or URIs)."""
    started = time.monotonic()
    spec = loaded.spec
    files = resolve(source, loaded.root)  # listed once: a LIST request per call on a bucket
    file_format = input_format(files, source, spec.data.format)
    dtypes = {name: spec.data.columns[name].dtype for name in spec.data.features}
    # keys are copied as stored in Parquet; in CSV as text (an id keeps its leading zeros)
    typed: dict[str, ColumnType] = {**({key: "str" for key in keys} if file_format == "csv"
                                        else {}), **dtypes}
    dataset = FileSet.from_files(files, source, file_format, typed)
    missing = [name for name in dtypes if name not in dataset.header]
    if missing:
        raise MlopsError(f"{source}: missing feature column(s) {', '.join(missing)} of "
                         "data.schema")
    require_keys(dataset.available, keys, source)  # a Hive partition key too
    try:
        model_session(model)  # a model that does not fit the contract stops the run before any part
    except ModelError as error:
        raise MlopsError(str(error)) from None
    fs, path = open_location(destination, loaded.root)
    output = OutputFolder(fs, path, destination, uuid.uuid4().hex)
    output.refuse_existing()
    plan = ScoringPlan(model, tuple(keys), spec.serving.on_schema_violation == "reject",
                       spec.serving.allow_non_finite, datetime.now(UTC), output)
    parts = dataset.parts([*dict.fromkeys([*keys, *dtypes])])
    progress = PartProgress(source, len(parts))
    scores: list[PartScore] = []
    try:
        for part, score in zip(parts, engine.map(score_part, [(plan, p) for p in parts]),
                               strict=True):
            part.rows, part.problems, part.malformed = score.rows, score.problems, score.malformed
            scores.append(score)
            progress.advance(score.rows)
        dataset.collect(parts)
        _refuse_problems(dataset, source, scores, plan.reject)
        names = [score.name for score in scores if score.name is not None]
        rows = sum(score.rows for score in scores)
        violations = sum(score.violations for score in scores)
        output.commit(names, {"rows": rows, "files": names, "input": source,
                              "model_digest": model.digest, "model_version": model.version,
                              "scored_at": plan.scored_at.isoformat(),
                              "schema_violations": violations})
    finally:
        output.discard()
    return Scored(rows, len(names), destination, violations, time.monotonic() - started,
                  engine.name)


def input_format(files: Sequence[DataFile], source: str, default: FileFormat) -> FileFormat:
    """Parquet or CSV by the files' extension (a team scores Parquet exports even when its
    training splits are CSV), else the spec's data.format; a mix is refused."""
    suffixes = {PurePosixPath(file.path).suffix.lower() for file in files}
    formats = {FORMATS[suffix] for suffix in suffixes if suffix in FORMATS}
    if len(formats) > 1:
        raise MlopsError(f"{source}: holds both CSV and Parquet files; score them separately")
    return formats.pop() if formats else default


def _refuse_problems(dataset: FileSet, source: str, scores: list[PartScore],
                     reject: bool) -> None:
    """The first reason the dataset cannot be scored, located by file and row; nothing is
    written then."""
    if dataset.problems:
        raise MlopsError("; ".join(problem.describe(source, dataset.locate)
                                   for problem in dataset.problems.values()))
    if dataset.malformed.count:
        raise MlopsError(f"{source}: {dataset.malformed.count} row(s) with the wrong number of "
                         f"fields, the first: {dataset.malformed.first_text!r}")
    offset = 0
    for score in scores:
        if score.refused is not None:
            raise MlopsError(f"{source}: row {dataset.locate(offset + score.refused_row)}: "
                             f"{score.refused}")
        if reject and score.first_violation is not None:
            violation = score.first_violation
            raise MlopsError(f"{source}: row {dataset.locate(offset + violation.row)}: "
                             f"{violation.message} (serving.on_schema_violation: reject; set it to "
                             "log to score such rows and count them)")
        offset += score.rows
