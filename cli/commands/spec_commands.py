"""`mlops validate`, `mlops schema`, `mlops init`, `mlops docs`: the spec's own commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlops.core.errors import UsageError
from mlops.spec.errors import Diagnostic, SpecError
from mlops.spec.loader import DEFAULT_SPEC, load_spec

from .options import spec_argument


@click.command()
@spec_argument
def validate(spec_path: Path) -> None:
    """Check MLOPS_YAML (default: mlops.yaml) and report every problem with its line and column."""
    loaded = load_spec(spec_path)
    spec = loaded.spec
    click.echo(f"{spec_path}: ok ({spec.name}: {spec.model.task}, {len(spec.data.features)} "
               f"features, {len(spec.deploy.environments)} environment(s))")


@click.command()
def schema() -> None:
    """Print the JSON Schema of mlops.yaml (for editors and other tools)."""
    from mlops.spec.schema import json_schema_text

    click.echo(json_schema_text(), nl=False)


TASKS = click.Choice(["binary_classification", "multiclass_classification", "regression"])
INFERENCE_FLAGS = ("data", "model", "target", "test", "current", "environment", "repository",
                   "image", "file_format")
"""Flags that make `init` infer the spec from a team's files instead of writing the starter."""


@click.command()
@click.option("--data", type=click.Path(path_type=Path), help="Training data (CSV or Parquet): "
              "infer the spec from it, the model and the target.")
@click.option("--model", type=click.Path(path_type=Path), help="The ONNX model (with --data).")
@click.option("--target", help="The label column of the data (with --data).")
@click.option("--test", type=click.Path(path_type=Path), help="Held-out split the model gate "
              "evaluates on (default: the training data).")
@click.option("--current", type=click.Path(path_type=Path), help="A fresh batch, checked for "
              "drift against the training data.")
@click.option("--task", type=TASKS, help="What the model predicts (default: inferred from the "
              "target and the model; the starter's is binary_classification).")
@click.option("--name", help="Model name (default: the spec's folder name; the starter's is "
              "my-model).")
@click.option("--environment", metavar="NAME:NAMESPACE",
              help="The first deployment environment (default: staging:<name>-staging).")
@click.option("--gitops", type=click.Choice(["argocd", "flux", "none"]), default="none",
              show_default=True, help="GitOps controller of the deployment.")
@click.option("--repository", help="Git URL the GitOps controller syncs from (with --gitops).")
@click.option("--image", help="Image repository, without tag (default: ghcr.io/your-org/<name>).")
@click.option("--format", "file_format", type=click.Choice(["csv", "parquet"]),
              help="Format of the data files (default: from their extension).")
@click.option("--print", "to_stdout", is_flag=True, help="Write the spec to stdout, not to a file.")
@click.argument("spec_path", metavar="[MLOPS_YAML]", default=DEFAULT_SPEC,
                type=click.Path(path_type=Path))
def init(spec_path: Path, to_stdout: bool, **flags: Any) -> None:
    """Write a commented mlops.yaml; never overwrites an existing file.

    With --data, --model and --target, the spec is inferred from the team's files: the schema
    from the data in one streaming pass, the contract, task and labels from the ONNX graph,
    thresholds and SLOs from a first run of the model. Without them, a generic starter."""
    if not to_stdout:
        _refuse_existing(spec_path)
    if any(flags[name] is not None for name in INFERENCE_FLAGS):
        summary, text = _infer(spec_path, flags)
    else:
        summary, text = [], _starter(flags)
    if to_stdout:
        for line in summary:
            click.echo(line, err=True)
        click.echo(text, nl=False)
        return
    try:
        with spec_path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        _refuse_existing(spec_path)
    for line in summary:
        click.echo(line)
    if summary:
        click.echo(f"wrote {spec_path}; next: 'mlops compile {spec_path}', then "
                   f"'mlops release {spec_path}'")
    else:
        click.echo(f"wrote {spec_path} ({flags['task'] or 'binary_classification'}); edit the data "
                   f"paths and schema, then run 'mlops validate {spec_path}'")


def _refuse_existing(spec_path: Path) -> None:
    if spec_path.exists():
        raise SpecError([Diagnostic(str(spec_path), 1, 1, "",
                                    "already exists; not overwriting it (remove it or pass "
                                    "another path)")])
    if not spec_path.parent.is_dir():
        raise UsageError(f"{spec_path}: the folder {spec_path.parent} does not exist")


def _starter(flags: dict[str, Any]) -> str:
    from mlops.spec.starter import starter_spec

    return starter_spec(flags["task"] or "binary_classification", flags["name"] or "my-model")


def _infer(spec_path: Path, flags: dict[str, Any]) -> tuple[list[str], str]:
    from mlops.harness.init.infer import InitRequest, infer_spec

    missing = [f"--{name}" for name in ("data", "model", "target") if flags[name] is None]
    if missing:
        raise UsageError(f"inferring a spec needs --data, --model and --target; missing "
                         f"{', '.join(missing)}")
    result = infer_spec(InitRequest(
        spec_path, flags["data"], flags["model"], flags["target"], test=flags["test"],
        current=flags["current"], task=flags["task"], name=flags["name"],
        environment=flags["environment"], gitops=flags["gitops"], repository=flags["repository"],
        image=flags["image"], file_format=flags["file_format"]))
    return result.summary, result.text


@click.command()
@click.option("--write", "target", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Replace the reference between the markers in this Markdown file (e.g. README.md).")
def docs(target: Path | None) -> None:
    """Print the spec reference (Markdown), generated from the spec models."""
    from mlops.spec.reference import reference_markdown, splice

    if target is None:
        click.echo(reference_markdown(), nl=False)
        return
    target.write_text(splice(target.read_text(encoding="utf-8"), str(target)), encoding="utf-8")
    click.echo(f"updated the spec reference in {target}")
