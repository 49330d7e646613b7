"""`mlops validate`, `mlops schema`, `mlops init`, `mlops docs`: the spec's own commands."""

from __future__ import annotations

from pathlib import Path

import click

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


@click.command()
@click.option("--task", type=click.Choice(["binary_classification", "multiclass_classification",
                                           "regression"]), default="binary_classification",
              show_default=True, help="What the model predicts.")
@click.option("--name", default="my-model", show_default=True, help="Model name.")
@click.argument("spec_path", metavar="[MLOPS_YAML]", default=DEFAULT_SPEC,
                type=click.Path(path_type=Path))
def init(task: str, name: str, spec_path: Path) -> None:
    """Write a commented starter mlops.yaml; never overwrites an existing file."""
    from mlops.spec.starter import starter_spec

    text = starter_spec(task, name)
    try:
        with spec_path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise SpecError([Diagnostic(str(spec_path), 1, 1, "",
                                    "already exists; not overwriting it (remove it or pass "
                                    "another path)")]) from None
    click.echo(f"wrote {spec_path} ({task}); edit the data paths and schema, then run "
               f"'mlops validate {spec_path}'")


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
