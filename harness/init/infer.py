"""`mlops init --data ... --model ... --target ...`: a team's spec from its own files.

1. Each data file is profiled in one streaming pass (`profiling`), the model's graph read without
   onnxruntime (`core.onnx_graph`), and the two bound (`binding`): layout, dtypes, task, labels.
2. The schema and the data checks are proposed from the files' facts (`schema`, `proposals`).
3. A first draft of the spec is rendered and loaded like any spec, so the model gate's and the
   bench gate's own code can run the model on it (`measure`).
4. Thresholds are proposed from those measurements; the final text is rendered and validated.

Nothing is written here: the caller writes the text (or prints it). Problems with the inputs are
`MlopsError`s that name the file (and its line) or the flag; problems with the flags themselves
are `UsageError`s.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from mlops.core.contract import Task
from mlops.core.errors import MlopsError, UsageError
from mlops.core.onnx_graph import GraphError, GraphSignature, read_signature
from mlops.spec.errors import SpecError
from mlops.spec.loader import LoadedSpec, validate_text

from ..data.datasets import FileFormat
from . import proposals
from .binding import Binding, Sources, bind
from .facts import ColumnFacts, column_facts
from .measure import BATCH_SIZES, Measurements, measure
from .profiling import FileProfile, profile_file
from .render import DataChecks, Deployment, Draft, Files, Measured, Share, render
from .schema import propose

FORMATS: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
DEFAULT_NAME = "my-model"
_NAME_LIMIT = 40


@dataclass(frozen=True)
class InitRequest:
    """What `mlops init` was asked, paths as the user typed them."""

    spec_path: Path
    data: Path
    model: Path
    target: str
    test: Path | None = None
    current: Path | None = None
    task: Task | None = None
    name: str | None = None
    environment: str | None = None
    """NAME:NAMESPACE."""
    gitops: str = "none"
    repository: str | None = None
    image: str | None = None
    file_format: FileFormat | None = None


@dataclass(frozen=True)
class InitResult:
    text: str
    summary: list[str]
    """What was read and measured, for the user (timings included, unlike the file)."""


def infer_spec(request: InitRequest) -> InitResult:
    """The spec text for the request's files; nothing is written."""
    name = request.name or default_name(request.spec_path)
    deployment = _deployment(request, name)
    for flag, path in _files(request).items():
        if not path.is_file():
            raise MlopsError(f"{flag} {path}: " + ("file not found" if not path.exists() else
                                                   "not a file; expected one CSV or Parquet file"
                                                   if flag != "--model" else "not a file"))
    file_format = _format(request)
    relative = {flag: _relative(flag, path, request.spec_path)
                for flag, path in _files(request).items()}
    signature = _signature(request.model)
    profiles = {flag: profile_file(path, str(path), file_format)
                for flag, path in _files(request).items() if flag != "--model"}
    train = profiles["--data"]
    _require_target(request.target, train, profiles.get("--test"))
    ordered = [profiles[flag] for flag in ("--data", "--test", "--current") if flag in profiles]
    facts = {column: column_facts(column, ordered) for column in train.header}
    sources = Sources(str(request.model), train.display, file_format)
    binding = bind(signature, facts, train.header, request.target, request.task, sources)
    _require_columns(binding, request.target, ordered, train)
    draft = _draft(request, name, file_format, relative, profiles, facts, binding, deployment)
    found = measure(_load(render(draft), request.spec_path))
    final = replace(draft, measured=_measured(binding.task, found))
    text = render(final)
    _load(text, request.spec_path)
    return InitResult(text, _summary(ordered, binding, found))


def default_name(spec_path: Path) -> str:
    """The spec's folder name as a model name (lowercase letters, digits, '-'), else my-model."""
    folder = spec_path.resolve().parent.name.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folder).strip("-")[:_NAME_LIMIT].strip("-")
    return slug if re.match(r"^[a-z]", slug) else DEFAULT_NAME


# --- flags ------------------------------------------------------------------------------------


def _files(request: InitRequest) -> dict[str, Path]:
    files = {"--data": request.data, "--model": request.model}
    if request.test is not None:
        files["--test"] = request.test
    if request.current is not None:
        files["--current"] = request.current
    return files


def _format(request: InitRequest) -> FileFormat:
    """The data files' one format: --format, else their extension."""
    data = {flag: path for flag, path in _files(request).items() if flag != "--model"}
    if request.file_format is not None:
        return request.file_format
    found = {flag: FORMATS.get(path.suffix.lower()) for flag, path in data.items()}
    unknown = [flag for flag, kind in found.items() if kind is None]
    if unknown:
        flag = unknown[0]
        raise UsageError(f"{flag} {data[flag]}: cannot tell the format from the extension "
                         "(.csv, .parquet); pass --format csv or --format parquet")
    kinds = set(found.values())
    if len(kinds) > 1:
        listed = ", ".join(f"{flag} {data[flag]}" for flag in data)
        raise UsageError(f"the data files mix CSV and Parquet ({listed}); data.format is one "
                         "format for every split")
    kind = kinds.pop()
    assert kind is not None
    return kind


def _relative(flag: str, path: Path, spec_path: Path) -> str:
    """`path` relative to the spec's folder, as the spec names it; outside it is a usage error."""
    folder = spec_path.resolve().parent
    relative = PurePath(os.path.relpath(path.resolve(), folder))
    if relative.parts and relative.parts[0] == "..":
        raise UsageError(f"{flag} {path}: outside the spec's folder {folder}; every path in "
                         "mlops.yaml is relative to it")
    return relative.as_posix()


def _deployment(request: InitRequest, name: str) -> Deployment:
    slug = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    if request.environment is None:
        environment, namespace = "staging", f"{name[:_NAME_LIMIT - 8].rstrip('-')}-staging"
    else:
        environment, _, namespace = request.environment.partition(":")
        if not (re.match(slug, environment) and re.match(slug, namespace)) or max(
                len(environment), len(namespace)) > _NAME_LIMIT:
            raise UsageError(f"--environment {request.environment}: expected NAME:NAMESPACE, "
                             "each lowercase letters, digits and '-' (at most 40), e.g. "
                             "staging:ml-staging")
    if request.gitops != "none" and not request.repository:
        raise UsageError(f"--gitops {request.gitops} needs --repository: the Git URL the "
                         "controller syncs from")
    return Deployment(request.image or f"ghcr.io/your-org/{name}", environment, namespace,
                      request.gitops, request.repository)


# --- inputs -----------------------------------------------------------------------------------


def _signature(model: Path) -> GraphSignature:
    try:
        return read_signature(model)
    except GraphError as error:
        raise MlopsError(f"{model}: {error}") from None


def _require_target(target: str, train: FileProfile, test: FileProfile | None) -> None:
    for profile in (train, test):
        if profile is not None and target not in profile.header:
            close = difflib.get_close_matches(target, profile.header, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            role = "" if profile is train else ", which the model gate needs in the test split"
            raise MlopsError(f"{profile.where(0)}: no column '{target}' (the --target){role}{hint}; "
                             f"its columns: {', '.join(profile.header)}")


def _require_columns(binding: Binding, target: str, files: Sequence[FileProfile],
                     train: FileProfile) -> None:
    """Every other file has the model's columns (the data gate checks each against the schema)."""
    for profile in files[1:]:
        for name in binding.features:
            if name not in profile.header:
                raise MlopsError(f"{profile.where(0)}: no column '{name}', which the model takes "
                                 f"(it is in {train.display})")


def _load(text: str, spec_path: Path) -> LoadedSpec:
    try:
        return validate_text(text, spec_path, display=str(spec_path))
    except SpecError as error:
        raise MlopsError(f"the spec mlops init inferred does not validate (please report this, "
                         f"with the files it read):\n{error}") from None


# --- proposals --------------------------------------------------------------------------------


def _draft(request: InitRequest, name: str, file_format: FileFormat, relative: dict[str, str],
           profiles: dict[str, FileProfile], facts: dict[str, ColumnFacts], binding: Binding,
           deployment: Deployment) -> Draft:
    target = request.target
    rows = {relative[flag]: profile.rows for flag, profile in profiles.items()}
    files = Files(relative["--data"], relative.get("--test", relative["--data"]),
                  relative.get("--current"), relative["--model"], file_format, rows,
                  "--test" in relative)
    columns = [propose(facts[feature], binding.dtypes[feature]) for feature in binding.features]
    columns.append(propose(facts[target], binding.dtypes[target],
                           classes=binding.task != "regression"))
    named = {profile.display: relative[flag] for flag, profile in profiles.items()}
    return Draft(name, files, target, tuple(columns), binding,
                 _checks(list(profiles.values()), named, [*binding.features, target], target,
                         binding.task != "regression"),
                 deployment)


def _checks(files: Sequence[FileProfile], named: dict[str, str], columns: list[str],
            target: str, classification: bool) -> DataChecks:
    smallest = min(files, key=lambda profile: profile.rows)
    worst: Share | None = None
    for profile in files:
        for column in columns:
            if column in profile.columns and profile.columns[column].nulls.count:
                share = profile.columns[column].nulls.count / profile.rows
                if worst is None or share > worst.value:
                    worst = Share(share, column, named[profile.display])
    least: Share | None = None
    if classification:
        for profile in files:
            counts = profile.columns[target].counts if target in profile.columns else None
            if counts:
                value, count = min(counts.items(), key=lambda item: (item[1], item[0]))
                share = count / profile.rows
                if least is None or share < least.value:
                    least = Share(share, value, named[profile.display])
    fraction = proposals.min_class_fraction(least.value) if least is not None else None
    return DataChecks(proposals.min_rows(smallest.rows), named[smallest.display],
                      proposals.max_null_fraction(worst.value if worst else 0.0), worst,
                      fraction if fraction else None, least)


def _measured(task: Task, found: Measurements) -> Measured:
    return Measured(found, proposals.metric_thresholds(task, found.metrics),
                    proposals.max_flip_fraction(found.flipped, found.perturbed),
                    proposals.slos(found.p50_ms))


def _summary(files: Sequence[FileProfile], binding: Binding, found: Measurements) -> list[str]:
    read = ", ".join(f"{profile.display} ({profile.rows:,} rows)" for profile in files)
    scores = ", ".join(f"{name} {found.metrics[name]:.4f}" for name in proposals.METRICS[binding.task]
                       if found.metrics[name] == found.metrics[name])
    latency = ", ".join(f"{found.p50_ms[size]:.3g} ms at batch {size}" for size in BATCH_SIZES)
    return [f"read {read}",
            f"model: {binding.task}, {len(binding.features)} features "
            f"({'one input' if binding.layout == 'matrix' else 'one input per column'}), "
            f"answer from output '{binding.contract.output}'",
            f"measured on the test split ({found.test_rows:,} rows): {scores}",
            f"median inference latency: {latency} (the SLOs are rounded from these; see the "
            "comments in the spec)"]
