"""Rules that need the whole spec (or the disk): run after the schema has passed.

Each rule yields (key path, message); the loader turns them into located diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from mlops.core.catalogue import (
    BENCH_STAT_NAMES,
    BINARY_ONLY_METRICS,
    CLASSIFICATION_METRICS,
    LOAD_STATISTICS,
    REGRESSION_METRICS,
)
from mlops.core.contract import ContractError, resolve
from mlops.core.locations import local_exists
from mlops.core.onnx_graph import GraphError, read_signature

from . import kubernetes_rules
from .container import APP_DIR, SYSTEM_DIRS, in_container
from .install import parse_source
from .messages import suggest
from .models import GITHUB_OIDC_ISSUER, Spec
from .slices import SliceFilter, parse_slice
from .threshold import format_number
from .yaml_source import KeyPath

Finding = tuple[KeyPath, str]


def parse_bench_key(key: str) -> tuple[str, int]:
    """'p95_ms@1' -> ('p95_ms', 1)."""
    stat, _, batch = key.partition("@")
    if stat not in BENCH_STAT_NAMES or not batch.isdigit():
        raise ValueError(
            f"expected 'STAT@BATCH' with STAT one of {', '.join(BENCH_STAT_NAMES)}, got {key!r}"
        )
    return stat, int(batch)


def metric_fits_task(metric: str, task: str) -> str | None:
    """Why a metric does not apply to a task, or None."""
    if task == "regression" and metric in CLASSIFICATION_METRICS:
        return f"'{metric}' is a classification metric; for regression use one of " + ", ".join(
            REGRESSION_METRICS)
    if task != "regression" and metric in REGRESSION_METRICS:
        return f"'{metric}' is a regression metric; this model's task is {task}"
    if task == "multiclass_classification" and metric in BINARY_ONLY_METRICS:
        alternatives = "'f1_macro' or 'accuracy'" if metric == "roc_auc" else (
            f"'{metric}_macro' or '{metric}_weighted'")
        return f"'{metric}' needs a positive class; for multiclass use {alternatives}"
    return None


def _file_rules(spec: Spec, root: Path) -> Iterator[Finding]:
    """Files the spec names that must exist now (skipped by `load_spec(check_files=False)`)."""
    data = spec.data
    for split in ("train", "test", "reference", "current"):
        value = getattr(data, split)
        if value is not None and local_exists(root, value) is False:  # remote: read by the gates
            yield ("data", split), f"file not found: {value}"
    model = spec.model
    if not model.train and not (root / model.artifact).is_file():
        yield ("model", "artifact"), (f"file not found: {model.artifact} (and no model.train "
                                      "command to produce it)")
    if model.source and not model.train and not (root / model.source.path).is_file():
        yield ("model", "source", "path"), f"file not found: {model.source.path}"


def _verify_file_rules(spec: Spec, root: Path) -> Iterator[Finding]:
    """The public key the server verifies with is in the repository (the image copies it)."""
    verify = spec.serving.verify
    if verify is not None and verify.public_key and not (root / verify.public_key).is_file():
        yield ("serving", "verify", "public_key"), f"file not found: {verify.public_key}"


def _verify_rules(spec: Spec) -> Iterator[Finding]:
    """One way to trust a signature: a public key (key mode) or a Sigstore identity (keyless)."""
    verify = spec.serving.verify
    if verify is None:
        return
    if verify.public_key is None and verify.identity is None:
        yield ("serving", "verify"), ("expected public_key (key mode) or identity (keyless, "
                                      "Sigstore): who must have signed the model")
    elif verify.public_key is not None and verify.identity is not None:
        yield ("serving", "verify", "identity"), ("give public_key or identity, not both: a "
                                                  "signature is made one way")
    if verify.public_key is not None and "issuer" in verify.model_fields_set:
        yield ("serving", "verify", "issuer"), ("issuer goes with identity (keyless); a key "
                                                "signature has no issuer")
    if verify.signature_path(spec.model.artifact) == spec.model.artifact:
        yield ("serving", "verify", "signature"), "the signature cannot be the model file itself"
    if verify.identity is not None and verify.issuer == GITHUB_OIDC_ISSUER:
        expected = release_identity(spec)
        if not _matches(verify.identity, expected):
            yield ("serving", "verify", "identity"), (
                f"the release workflow signs the model as {expected}, so {verify.identity!r} "
                "would refuse every model it signs")


GITHUB_REPOSITORY = re.compile(r"^https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?$")


def release_identity(spec: Spec) -> str:
    """The identity the generated release workflow signs as (GitHub's OIDC `job_workflow_ref`,
    as a URL): its file on the deploy branch, in deploy.repository (OWNER/REPO when unknown)."""
    found = GITHUB_REPOSITORY.match(spec.deploy.repository or "")
    repository = found.group(1) if found else "OWNER/REPO"
    return (f"https://github.com/{repository}/.github/workflows/mlops-{spec.name}-release.yml"
            f"@refs/heads/{spec.deploy.branch}")


def _matches(identity: str, expected: str) -> bool:
    """`identity` is `expected`, or is it in another repository when that one is not known."""
    if "/OWNER/REPO/" not in expected:
        return identity == expected
    return identity.startswith("https://github.com/") and identity.endswith(
        expected.split("/OWNER/REPO", 1)[1])


def _data_rules(spec: Spec) -> Iterator[Finding]:
    data = spec.data
    if data.target not in data.columns:
        yield ("data", "target"), (f"target column '{data.target}' is not in data.schema "
                                   f"(columns: {', '.join(data.columns)})")
    for name, column in data.columns.items():
        if column.min is not None and column.max is not None and column.min > column.max:
            yield ("data", "schema", name, "min"), (f"min ({column.min:g}) is greater than "
                                                    f"max ({column.max:g})")
        if "null_value" in column.model_fields_set and not (column.nullable and column.rule(
                name).text):
            yield ("data", "schema", name, "null_value"), ("null_value is what a null of a "
                                                           "nullable str or category column "
                                                           "becomes; this column is not one")
    for index, feature in enumerate(data.drift.features or []):
        if feature not in data.columns:
            yield ("data", "drift", "features", index), _unknown_column(feature, spec)
    if data.checks.min_class_fraction is not None and spec.model.task == "regression":
        yield ("data", "checks", "min_class_fraction"), "class balance needs a classification task"


def _model_rules(spec: Spec) -> Iterator[Finding]:
    model = spec.model
    if model.labels is not None and model.task == "regression":
        yield ("model", "labels"), "labels need a classification task"
    if model.labels is not None and model.task == "binary_classification" and len(model.labels) != 2:
        yield ("model", "labels"), f"a binary classifier has 2 labels, got {len(model.labels)}"
    if model.reproducible is not None and not model.train:
        yield ("model", "reproducible"), ("needs model.train: the check retrains the model with "
                                          "it from the commit being gated")


def _metric_rules(spec: Spec) -> Iterator[Finding]:
    task = spec.model.task
    for name in spec.metrics.thresholds():
        if reason := metric_fits_task(name, task):
            yield ("metrics", name), reason
    for name in spec.metrics.no_regression:
        if reason := metric_fits_task(name, task):
            yield ("metrics", "no_regression", name), reason
    if spec.metrics.no_regression and spec.model.baseline is None:
        yield ("metrics", "no_regression"), "needs model.baseline to compare against"
    for index, item in enumerate(spec.metrics.slices):
        try:
            problem = _slice_problem(parse_slice(item.by), spec)
        except ValueError as error:
            problem = str(error)
        if problem:
            yield ("metrics", "slices", index, "by"), problem
        if reason := metric_fits_task(item.metric, task):
            yield ("metrics", "slices", index, "metric"), reason
    for index, gap in enumerate(spec.metrics.group_gaps):
        if gap.column not in spec.data.columns:
            yield ("metrics", "group_gaps", index, "column"), _unknown_column(gap.column, spec)
        if reason := metric_fits_task(gap.metric, task):
            yield ("metrics", "group_gaps", index, "metric"), reason


    for feature, how in spec.metrics.robustness.perturb.items():
        if feature not in spec.data.features:
            yield ("metrics", "robustness", "perturb", feature), (
                f"'{feature}' is not a model feature" + suggest(feature, spec.data.features))
        elif how == "noise" and spec.data.columns[feature].rule(feature).text:
            yield ("metrics", "robustness", "perturb", feature), (
                f"noise scales numbers; '{feature}' is a {spec.data.columns[feature].dtype} "
                "column: use swap or keep")


def _slice_problem(rule: SliceFilter, spec: Spec) -> str | None:
    """Why a slice cannot select rows of its column, or None."""
    column = spec.data.columns.get(rule.feature)
    if column is None:
        return _unknown_column(rule.feature, spec)
    text = column.rule(rule.feature).text
    if rule.text != text:
        kind = "text" if text else "numeric"
        literal = "quoted text" if text else "numbers"
        return (f"'{rule.feature}' is a {kind} column ({column.dtype}); compare it with "
                f"{literal}: {rule.describe()} cannot match")
    if column.allowed is not None:
        unknown = [v for v in rule.values if v not in column.allowed]
        if unknown and rule.op in ("==", "in"):
            shown = ", ".join(repr(v) if isinstance(v, str) else format_number(v) for v in unknown)
            return (f"{shown} is not an allowed value of '{rule.feature}' (allowed: "
                    f"{', '.join(str(v) for v in column.allowed)})")
    return None


def _contract_rules(spec: Spec, root: Path) -> Iterator[Finding]:
    """When the artifact exists, the model contract must hold: every graph input fed by a column
    of the right type, an answer output, classes matching model.labels."""
    artifact = root / spec.model.artifact
    if not artifact.is_file():
        return
    try:
        signature = read_signature(artifact)
    except GraphError as error:
        yield ("model", "artifact"), f"{spec.model.artifact}: {error}"
        return
    try:
        resolve(signature, spec.data.feature_rules(), spec.model.task, labels=spec.model.labels,
                output=spec.model.output, artifact=spec.model.artifact)
    except ContractError as error:
        yield from error.findings


def _challenger_file_rules(spec: Spec, root: Path) -> Iterator[Finding]:
    """The challenger exists and keeps the champion's contract: both answer the same requests
    (a mirror or a router cannot reshape them), and agreement compares the same classes."""
    challenger = spec.serving.challenger
    if challenger is None:
        return
    where: KeyPath = ("serving", "challenger", "model")
    path = root / challenger.model
    if not path.is_file():
        yield where, f"file not found: {challenger.model}"
        return
    try:
        signature = read_signature(path)
    except GraphError as error:
        yield where, f"{challenger.model}: {error}"
        return
    try:
        contract = resolve(signature, spec.data.feature_rules(), spec.model.task,
                           labels=spec.model.labels, output=challenger.output or spec.model.output,
                           artifact=challenger.model)
    except ContractError as error:
        for _, message in error.findings:
            yield where, f"not the contract of model.artifact: {message}"
        return
    yield from _same_classes(spec, root, contract.classes)


def _same_classes(spec: Spec, root: Path, classes: tuple[str, ...]) -> Iterator[Finding]:
    """Without model.labels each graph names its own classes: they must be the champion's."""
    champion = root / spec.model.artifact
    if spec.model.labels is not None or not champion.is_file():
        return
    try:
        theirs = resolve(read_signature(champion), spec.data.feature_rules(), spec.model.task,
                         output=spec.model.output, artifact=spec.model.artifact).classes
    except (GraphError, ContractError):
        return  # reported at model.artifact
    if theirs != classes:
        yield ("serving", "challenger", "model"), (
            f"not the contract of model.artifact: classes [{', '.join(classes)}] differ from "
            f"the champion's [{', '.join(theirs)}]")


def _challenger_rules(spec: Spec) -> Iterator[Finding]:
    """A challenger is judged from both request logs; its routing must make sense for its mode."""
    challenger = spec.serving.challenger
    judge = spec.monitors.challenger
    if challenger is None:
        if judge is not None:
            yield ("monitors", "challenger"), ("needs serving.challenger: there is no challenger "
                                               "to judge")
        return
    if challenger.model == spec.model.artifact:
        yield ("serving", "challenger", "model"), (f"{challenger.model} is model.artifact: a "
                                                   "challenger is another model")
    if spec.serving.request_log is None:
        yield ("serving", "challenger"), ("needs serving.request_log: the challenger is judged by "
                                          "joining both models' request logs")
    if challenger.mode == "shadow" and challenger.header is not None:
        yield ("serving", "challenger", "header"), ("header pins users to the challenger in ab "
                                                    "mode; a shadow challenger answers nobody")
    if challenger.mode == "ab" and challenger.percent == 100:
        yield ("serving", "challenger", "percent"), ("ab sends at most 99% of the traffic to the "
                                                     "challenger; to serve it to everyone, make it "
                                                     "model.artifact")
    if judge is not None and judge.max_metric_drop is not None and spec.monitors.performance is None:
        yield ("monitors", "challenger", "max_metric_drop"), (
            "needs monitors.performance: its labels and metric score both models")
    if judge is not None and "tolerance" in judge.model_fields_set and spec.model.task != "regression":
        yield ("monitors", "challenger", "tolerance"), ("tolerance compares regression values; "
                                                        "classifiers agree on the class")


def _benchmark_and_load_rules(spec: Spec) -> Iterator[Finding]:
    for key in spec.benchmark.thresholds:
        try:
            _, batch = parse_bench_key(key)
        except ValueError as error:
            yield ("benchmark", "thresholds", key), str(error)
            continue
        if batch not in spec.benchmark.batch_sizes:
            yield ("benchmark", "thresholds", key), (
                f"batch size {batch} is not in benchmark.batch_sizes "
                f"({', '.join(map(str, spec.benchmark.batch_sizes))})")
    if "spawn_rate" in spec.load.model_fields_set and spec.load.spawn_rate > spec.load.users:
        yield ("load", "spawn_rate"), (f"spawn_rate ({spec.load.spawn_rate:g}) is more than "
                                       f"users ({spec.load.users})")


def _load_regression_rules(spec: Spec) -> Iterator[Finding]:
    """A limit on candidate / baseline must point the way that is worse, and be a ratio."""
    load = spec.load
    limits = load.max_regression.limits()
    if "max_regression" in load.model_fields_set and limits and spec.model.baseline is None:
        yield ("load", "max_regression"), "needs model.baseline to compare against"
    for statistic in LOAD_STATISTICS:
        threshold = limits.get(statistic.name)
        if threshold is None:
            continue
        comparison = threshold.comparison
        where = ("load", "max_regression", statistic.name)
        allowed = (">", ">=") if statistic.higher_is_better else ("<", "<=")
        if comparison.op not in allowed:
            worse = "drop" if statistic.higher_is_better else "rise"
            yield where, (f"limits how far the {statistic.label} may {worse} against the baseline: "
                          f"use {' or '.join(allowed)}, got {str(comparison)!r}")
        elif comparison.value <= 0:
            yield where, f"a ratio to the baseline is above 0, got {format_number(comparison.value)}"


def _deploy_rules(spec: Spec) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for index, env in enumerate(spec.deploy.environments):
        if env.name in seen:
            yield ("deploy", "environments", index, "name"), (
                f"duplicate environment name '{env.name}' (also environments[{seen[env.name]}])")
        seen.setdefault(env.name, index)
        if env.autoscale and env.autoscale.min > env.autoscale.max:
            yield ("deploy", "environments", index, "autoscale", "min"), (
                f"min ({env.autoscale.min}) is greater than max ({env.autoscale.max})")
        steps = env.rollout.steps
        if env.rollout.strategy == "canary" and (
            not steps or steps[-1] != 100 or steps != sorted(set(steps)) or steps[0] <= 0
        ):
            yield ("deploy", "environments", index, "rollout", "steps"), (
                f"expected increasing percentages ending at 100, got {steps}")
    if spec.deploy.gitops != "none" and not spec.deploy.repository:
        yield ("deploy", "repository"), (f"gitops: {spec.deploy.gitops} needs the Git URL the "
                                         "controller syncs from")
    batch = spec.batch
    if batch is not None and batch.environment is not None and batch.environment not in seen:
        yield ("batch", "environment"), (f"no environment '{batch.environment}' in "
                                         f"deploy.environments ({', '.join(seen)})")


def _monitor_rules(spec: Spec) -> Iterator[Finding]:
    performance = spec.monitors.performance
    if performance is not None and (reason := metric_fits_task(performance.metric, spec.model.task)):
        yield ("monitors", "performance", "metric"), reason
    if "retrain" in spec.monitors.on_alert and not spec.model.train:
        yield ("monitors", "on_alert"), "'retrain' needs a model.train command"


def _install_rules(spec: Spec) -> Iterator[Finding]:
    """The install section ends up in `run:` lines and a Dockerfile: it must be what pip reads."""
    install = spec.install
    if install.source is not None:
        try:
            parse_source(install.source)
        except ValueError as error:
            yield ("install", "source"), str(error)
    if install.index_url is not None and not (
            install.index_url.startswith("https://") and not _unsafe(install.index_url)):
        yield ("install", "index_url"), f"expected an https URL, got {install.index_url!r}"
    for index, package in enumerate(install.packages):
        if not package.strip() or package.lstrip().startswith("-") or _unsafe(package):
            yield ("install", "packages", index), (
                f"expected a pip requirement like 'lightgbm==4.7.0', got {package!r} (pip options "
                "belong in install.index_url or a requirements file)")


def _unsafe(value: str) -> bool:
    """Text GitHub would evaluate (`${{ }}`) or a line break, in a generated `run:` line."""
    return "${{" in value or "\n" in value


def _install_file_rules(spec: Spec, root: Path) -> Iterator[Finding]:
    """A wheel source and the requirements files are in the repository, so they exist now."""
    install = spec.install
    if install.source is not None and install.source.strip().endswith(".whl"):
        try:
            wheel = parse_source(install.source).location
        except ValueError:
            wheel = ""
        if wheel and not (root / wheel).is_file():
            yield ("install", "source"), f"file not found: {wheel}"
    for index, path in enumerate(install.requirements):
        if not (root / path).is_file():
            yield ("install", "requirements", index), f"file not found: {path}"


def _request_log_rules(spec: Spec) -> Iterator[Finding]:
    """The request log folder becomes a writable volume mounted in the container: it must not
    leave the spec's folder, nor cover what the image itself holds."""
    log = spec.serving.request_log
    if log is None:
        return
    where: KeyPath = ("serving", "request_log", "path")
    written = PurePosixPath(log.path)
    if not written.is_absolute() and (".." in written.parts or not written.parts):
        yield where, (f"expected an absolute folder or one inside the spec's folder (no '..'; "
                      f"{APP_DIR} in the image), got {log.path!r}")
        return
    folder = in_container(log.path)
    shipped = [spec.model.artifact, spec.data.reference_path]
    if spec.serving.challenger is not None:
        shipped.append(spec.serving.challenger.model)
    for file in shipped:
        if in_container(file).is_relative_to(folder):
            yield where, (f"{log.path!r} holds {file}, which the image ships: the volume mounted "
                          "there would hide it; give the log a folder of its own, e.g. 'logs'")
            return
    if folder in (PurePosixPath("/"), PurePosixPath("/tmp"), APP_DIR) or any(
            folder.is_relative_to(system) for system in SYSTEM_DIRS):
        yield where, (f"{log.path!r} is a folder of the image itself: a volume mounted there "
                      "breaks the container; use one of its own, e.g. /var/log/mlops")


def _monitor_input_rules(spec: Spec) -> Iterator[Finding]:
    """A monitor workflow asked for must have a request log to read."""
    if spec.monitors.workflow and spec.serving.request_log is None:
        yield ("monitors", "workflow"), ("the monitor workflow needs serving.request_log: without "
                                         "a request log there is nothing to monitor")


SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _ci_app_rules(spec: Spec) -> Iterator[Finding]:
    """The App's secrets are read as `secrets.<name>` in the workflows: names GitHub accepts
    (and that cannot inject an expression), without its reserved prefix, and two of them."""
    app = spec.ci.app
    if app is None:
        return
    for key in ("id_secret", "key_secret"):
        name = getattr(app, key)
        if not SECRET_NAME.fullmatch(name):
            yield ("ci", "app", key), (f"expected a secret name (letters, digits and '_', not "
                                       f"starting with a digit), got {name!r}")
        elif name.upper().startswith("GITHUB_"):
            yield ("ci", "app", key), (f"secret names cannot start with GITHUB_ (GitHub reserves "
                                       f"the prefix), got {name!r}")
    if app.id_secret.upper() == app.key_secret.upper():
        yield ("ci", "app", "key_secret"), (f"names the same secret as id_secret "
                                            f"({app.id_secret!r}; GitHub ignores case): the "
                                            "App's ID and private key are two secrets")


def _unknown_column(name: str, spec: Spec) -> str:
    return f"column '{name}' is not in data.schema" + suggest(name, spec.data.columns)


RULES: tuple[Callable[[Spec, Path], Iterator[Finding]], ...] = (
    lambda spec, _root: _data_rules(spec),
    lambda spec, _root: _model_rules(spec),
    _contract_rules,
    lambda spec, _root: _metric_rules(spec),
    lambda spec, _root: _benchmark_and_load_rules(spec),
    lambda spec, _root: _load_regression_rules(spec),
    lambda spec, _root: _deploy_rules(spec),
    lambda spec, _root: _monitor_rules(spec),
    lambda spec, _root: _install_rules(spec),
    lambda spec, _root: _request_log_rules(spec),
    lambda spec, _root: _monitor_input_rules(spec),
    lambda spec, _root: _ci_app_rules(spec),
    lambda spec, _root: _verify_rules(spec),
    lambda spec, _root: _challenger_rules(spec),
    lambda spec, _root: kubernetes_rules.findings(spec),
)
FILE_RULES: tuple[Callable[[Spec, Path], Iterator[Finding]], ...] = (
    _file_rules,
    _install_file_rules,
    _verify_file_rules,
    _challenger_file_rules,
)


def check(spec: Spec, root: Path, *, files: bool = True) -> list[Finding]:
    """Every semantic finding, in rule order; `files=False` skips the files that must exist now
    (a gate run before training, say)."""
    rules = (*FILE_RULES, *RULES) if files else RULES
    return [finding for rule in rules for finding in rule(spec, root)]
